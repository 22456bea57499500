/**
 * EVM chains through viem: one instance per configured chain. Polls the head (or is woken by `newHeads`
 * on a ws:// URL), reads logs of the configured contracts with eth_getLogs in bounded ranges — catch-up in
 * chunks that shrink when the RPC refuses a range and grow back after a run of successes — and hands the
 * harvester one item per block that has events, plus the range's last block so the checkpoint moves.
 *
 * Reorgs: before a range is handed out, the block it builds on must still be the one last handed out
 * (parent hash of the next block, or the hash at that height). Near the head, the hashes in the logs are
 * also checked against the chain after the read, so a reorg in the middle of a read cannot mix branches.
 */
import type { Logger } from 'pino';
import type { BlockRef, ChainEvent, FollowItem, ProcessedBlocks } from '../adapter.ts';
import type { EvmChainConfig } from '../config.ts';
import { errorText } from '../error-text.ts';
import { ChainMoved, FollowingAdapter } from '../follow-loop.ts';
import { decodeLog, type RawLog, type Role, roles, WANTED_TOPICS } from './abi.ts';
import { EvmRpc, type Header, isRangeRefusal } from './rpc.ts';

/** Blocks this close to the head get their log hashes cross-checked (deeper ones cannot move in practice). */
const RECHECK_DEPTH = 64;
/** Successful reads in a row before a shrunk range doubles again. */
const GROW_AFTER = 8;

export interface EvmAdapterComponents {
  config: EvmChainConfig;
  logger: Logger;
}

export class EvmAdapter extends FollowingAdapter<EvmChainConfig> {
  readonly family = 'evm' as const;
  private readonly roles: Map<string, Role>;
  private readonly addresses: string[];
  private rpc: EvmRpc | undefined;
  private unwatch: (() => void) | undefined;
  private chainChecked = false;
  private range: number;
  private successes = 0;
  private readonly nativeSeen = new Map<string, bigint>();

  constructor(components: EvmAdapterComponents) {
    super(components.config, `eip155:${components.config.chainId}`, components.logger);
    const c = components.config.contracts;
    this.roles = roles({
      tokens: c.tokens,
      nfts: c.nfts,
      staking: c.staking,
      nodeManagement: c.nodeManagement,
    });
    this.addresses = [...this.roles.keys()];
    this.range = components.config.maxBlockRange;
  }

  protected override async open(): Promise<void> {
    this.rpc = new EvmRpc({ url: this.config.rpcUrl });
    if (this.rpc.websocket) {
      // newHeads only wakes the loop early; the poll interval stays as the fallback.
      this.unwatch = this.rpc.watchHeads(
        () => this.poll.wakeUp(),
        (e) => this.fail(e),
      );
    }
  }

  protected override async close(): Promise<void> {
    this.unwatch?.();
    this.unwatch = undefined;
    await this.rpc?.close();
  }

  protected rangeSize(): number {
    return this.range;
  }

  protected async hashAt(n: number): Promise<string | undefined> {
    return (await this.rpc?.header(n))?.hash;
  }

  protected override forgetAfterReorg(): void {
    this.nativeSeen.clear();
  }

  protected async step(
    cursor: BlockRef | undefined,
    processed: ProcessedBlocks,
  ): Promise<{ items: FollowItem[]; caughtUp: boolean }> {
    const rpc = this.rpc;
    if (!rpc) throw new Error('adapter not started');
    if (!this.chainChecked) {
      const id = await rpc.chainId();
      if (id !== this.config.chainId) {
        throw new Error(`RPC serves chain ${id}, configured chainId is ${this.config.chainId}`);
      }
      this.chainChecked = true;
    }
    const head = await rpc.head();
    if (head !== this.state.head) this.emit('head', head);
    this.state.head = head;
    const confirmed =
      this.config.confirmations === 'finalized' ? await rpc.finalized() : head - this.config.confirmations;
    this.state.confirmed = confirmed;

    const start = cursor ? cursor.number + 1 : this.config.startBlock;
    if (start > confirmed) {
      // Nothing new to read, but the block we stand on may have been replaced.
      if (cursor && (await rpc.header(cursor.number))?.hash !== cursor.hash) {
        return { items: [await this.reorg(cursor, processed)], caughtUp: false };
      }
      return { items: [], caughtUp: true };
    }
    const { logs, to } = await this.readLogs(start, Math.min(confirmed, start + this.range - 1));
    const last = await rpc.header(to);
    if (!last) throw new ChainMoved();
    if (cursor) {
      const base = to === cursor.number + 1 ? last.parentHash : (await rpc.header(cursor.number))?.hash;
      if (base !== cursor.hash) return { items: [await this.reorg(cursor, processed)], caughtUp: false };
    }
    await this.recheck(logs, last, head);
    const items = await this.blockItems(logs, last);
    return { items, caughtUp: to >= confirmed };
  }

  /** eth_getLogs over [from, to], shrinking the range while the RPC refuses it. Returns the range read. */
  private async readLogs(from: number, to: number): Promise<{ logs: RawLog[]; to: number }> {
    const rpc = this.rpc as EvmRpc;
    if (!this.addresses.length) return { logs: [], to };
    let end = to;
    for (;;) {
      try {
        const logs = await rpc.getLogs(from, end, this.addresses, WANTED_TOPICS);
        if (++this.successes >= GROW_AFTER && this.range < this.config.maxBlockRange) {
          this.setRange(Math.min(this.config.maxBlockRange, this.range * 2));
        }
        return { logs, to: end };
      } catch (e) {
        this.successes = 0;
        if (end === from || !isRangeRefusal(e)) throw e;
        this.setRange(Math.max(1, Math.floor((end - from + 1) / 2)));
        this.log.debug(
          { from, to: end, range: this.range, err: errorText(e) },
          'getLogs range refused, shrinking',
        );
        end = from + this.range - 1;
      }
    }
  }

  /** Near the head, every block with logs must still have the hash its logs carry. */
  private async recheck(logs: RawLog[], last: Header, head: number): Promise<void> {
    const byBlock = new Map<number, string>();
    for (const l of logs) byBlock.set(Number(BigInt(l.blockNumber ?? 0)), (l.blockHash ?? '').toLowerCase());
    for (const [n, hash] of byBlock) {
      if (n === last.number) {
        if (hash !== last.hash) throw new ChainMoved();
      } else if (n > head - RECHECK_DEPTH && (await this.rpc?.header(n))?.hash !== hash) {
        throw new ChainMoved();
      }
    }
  }

  private async blockItems(logs: RawLog[], last: Header): Promise<FollowItem[]> {
    const blocks = new Map<number, { hash: string; events: ChainEvent[] }>();
    for (const log of logs) {
      const event = decodeLog(this.chainId, this.roles.get(log.address.toLowerCase()), log);
      if (!event) continue;
      const block = blocks.get(event.blockNumber) ?? { hash: event.blockHash, events: [] };
      blocks.set(event.blockNumber, block);
      block.events.push(event);
    }
    const native = await this.nativeBalances(last);
    if (native.length || !blocks.has(last.number)) {
      const block = blocks.get(last.number) ?? { hash: last.hash, events: [] };
      block.events.push(...native);
      blocks.set(last.number, block);
    }
    return [...blocks.entries()]
      .sort(([a], [b]) => a - b)
      .map(([number, b]) => ({
        type: 'block' as const,
        block: { number, hash: b.hash },
        events: b.events.sort((x, y) => x.logIndex - y.logIndex),
      }));
  }

  /** Native balances of watched wallets at the range's last block, when they changed since last seen. */
  private async nativeBalances(last: Header): Promise<ChainEvent[]> {
    const out: ChainEvent[] = [];
    for (const wallet of this.config.watchWallets) {
      const balance = await (this.rpc as EvmRpc).balance(wallet, last.number);
      if (this.nativeSeen.get(wallet) === balance) continue;
      this.nativeSeen.set(wallet, balance);
      out.push({
        id: `${this.chainId}:balance:${last.number}:${wallet}`,
        chainId: this.chainId,
        blockNumber: last.number,
        blockHash: last.hash,
        txHash: '',
        logIndex: -1,
        kind: 'native.balance',
        contract: '',
        from: wallet,
        to: '',
        amount: `${balance}`,
        raw: { topics: [], data: '0x' },
      });
    }
    return out;
  }

  private setRange(n: number): void {
    if (n === this.range) return;
    this.range = n;
    this.successes = 0;
    this.emit('range', n);
  }
}

/**
 * Substrate chains (Polkadot, Kusama, any chain by ws:// URL) through @polkadot/api. Confirmation is
 * finality: only blocks up to the finalized head are read. Each block's System.Events are decoded with
 * the chain's own metadata at that block (`api.at(hash)`, so runtime upgrades are handled) and its
 * `balances` events become normalised ChainEvents with SS58 addresses in the chain's prefix, followed by
 * one `balances.free` snapshot per watched account they name (System.Account at that block): the
 * derived balance, rolled back with the block like any derived state.
 *
 * The finalized-heads subscription only wakes the loop early; a poll of the finalized head stays as the
 * fallback. Reorgs are found as on EVM chains, by hashes: a read batch must build on the block last handed
 * out (parent hash), and the batch's last block must still be canonical after the read. Finalized blocks
 * do not reorg on a live relay chain, but dev chains (chopsticks `dev_setHead`) and misbehaving RPCs do.
 *
 * The connection is made by the loop, not by `start`, so an unreachable node is a status and a log line
 * retried with backoff, never a throw; WsProvider's own endless reconnect is off for the same reason.
 */
import { ApiPromise, WsProvider } from '@polkadot/api';
import { u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import type { Logger } from 'pino';
import type { BlockRef, ChainEvent, FollowItem, ProcessedBlocks } from '../adapter.ts';
import { chainIdOf, type SubstrateChainConfig } from '../config.ts';
import { errorText } from '../error-text.ts';
import { ChainMoved, FollowingAdapter } from '../follow-loop.ts';
import { decodeBalanceEvents, type EventRecordLike, freeBalanceEvent, touchedAccounts } from './events.ts';

const CONNECT_TIMEOUT_MS = 10_000;
/** Blocks whose events are read at the same time. */
const PARALLEL = 8;
const ZERO_HASH = `0x${'0'.repeat(64)}`;
const GENERIC_SS58 = 42;

export interface SubstrateAdapterComponents {
  config: SubstrateChainConfig;
  logger: Logger;
}

export class SubstrateAdapter extends FollowingAdapter<SubstrateChainConfig> {
  readonly family = 'substrate' as const;
  private readonly accounts: ReadonlySet<string>;
  private api: ApiPromise | undefined;
  private unsubscribe: (() => void) | undefined;
  private ss58Prefix: number;
  /** Where reading starts without a checkpoint, fixed at the first step (the finalized block by default). */
  private origin: number | undefined;

  constructor(components: SubstrateAdapterComponents) {
    super(components.config, chainIdOf(components.config), components.logger);
    this.ss58Prefix = components.config.ss58Prefix ?? GENERIC_SS58;
    this.accounts = new Set(components.config.accounts.map((a) => u8aToHex(decodeAddress(a))));
    this.origin = components.config.startBlock;
  }

  // The connection is made by the first step (see above): nothing to open.
  protected override async close(): Promise<void> {
    await this.disconnect();
  }

  protected rangeSize(): number {
    return this.config.maxBlockRange;
  }

  protected async step(
    cursor: BlockRef | undefined,
    processed: ProcessedBlocks,
  ): Promise<{ items: FollowItem[]; caughtUp: boolean }> {
    const api = await this.connect();
    const [finalizedHash, best] = await Promise.all([
      api.rpc.chain.getFinalizedHead(),
      api.rpc.chain.getHeader(),
    ]);
    const head = best.number.toNumber();
    if (head !== this.state.head) this.emit('head', head);
    this.state.head = head;
    const confirmed = Math.min(head, (await api.rpc.chain.getHeader(finalizedHash)).number.toNumber());
    this.state.confirmed = confirmed;
    this.origin ??= confirmed;

    const start = cursor ? cursor.number + 1 : this.origin;
    if (start > confirmed) {
      // Nothing new to read, but the block we stand on may have been replaced.
      if (cursor && (await this.hashAt(cursor.number)) !== cursor.hash) {
        return { items: [await this.reorg(cursor, processed)], caughtUp: false };
      }
      return { items: [], caughtUp: true };
    }
    const to = Math.min(confirmed, start + this.config.maxBlockRange - 1);
    const numbers = Array.from({ length: to - start + 1 }, (_, i) => start + i);
    const hashes = await Promise.all(numbers.map((n) => this.hashAt(n)));
    if (hashes.some((h) => h === null)) throw new ChainMoved();
    const headers = await Promise.all(hashes.map((h) => api.rpc.chain.getHeader(h as string)));
    // The batch must be one chain, built on the block last handed out.
    for (let i = 0; i < headers.length; i++) {
      const parent = headers[i].parentHash.toHex();
      if (i > 0 && parent !== hashes[i - 1]) throw new ChainMoved();
      if (i === 0 && cursor && parent !== cursor.hash) {
        return { items: [await this.reorg(cursor, processed)], caughtUp: false };
      }
    }
    const blocks: { block: BlockRef; events: ChainEvent[] }[] = [];
    for (let i = 0; i < numbers.length; i += PARALLEL) {
      const slice = numbers
        .slice(i, i + PARALLEL)
        .map((n, j) => ({ number: n, hash: hashes[i + j] as string }));
      blocks.push(
        ...(await Promise.all(slice.map(async (block) => ({ block, events: await this.events(block) })))),
      );
    }
    // A fork during the read would have swapped blocks under us: the last one must still be canonical.
    if ((await this.hashAt(to)) !== hashes[hashes.length - 1]) throw new ChainMoved();
    const items: FollowItem[] = blocks
      .filter((b, i) => b.events.length || i === blocks.length - 1)
      .map((b) => ({ type: 'block', block: b.block, events: b.events }));
    return { items, caughtUp: to >= confirmed };
  }

  /** The balance events of one block, decoded with the metadata of the runtime that produced it. */
  private async events(block: BlockRef): Promise<ChainEvent[]> {
    const api = this.api as ApiPromise;
    const at = await api.at(block.hash);
    const records = (await at.query.system.events()) as unknown as EventRecordLike[];
    const ctx = {
      chainId: this.chainId,
      block,
      ss58Prefix: this.ss58Prefix,
      extrinsicHashes: [] as string[],
      accounts: this.accounts,
    };
    let events = decodeBalanceEvents(records, ctx);
    if (!events.length) return events;
    if (records.some((r) => r.phase.isApplyExtrinsic)) {
      // Events inside an extrinsic carry its hash: only now is the block body worth fetching.
      const signed = await api.rpc.chain.getBlock(block.hash);
      ctx.extrinsicHashes = signed.block.extrinsics.map((x) => x.hash.toHex());
      events = decodeBalanceEvents(records, ctx);
    }
    // The derived balance is the chain's own figure after the block, not a sum of deltas: a sum would be
    // wrong for every balance that predates the start block or changed without an event (genesis, sudo).
    const accounts = touchedAccounts(events, this.accounts);
    if (!accounts.length) return events;
    const infos = (await at.query.system.account.multi(accounts)) as unknown as {
      data: { free: { toString(): string } };
    }[];
    return [
      ...events,
      ...accounts.map((a, i) => freeBalanceEvent(this.chainId, block, a, infos[i].data.free.toString())),
    ];
  }

  /** Canonical hash at a height, or null when the chain is not that high (any more). */
  protected async hashAt(n: number): Promise<string | null> {
    const api = this.api as ApiPromise;
    const hash = (await api.rpc.chain.getBlockHash(n)).toHex();
    return hash === ZERO_HASH || hash === '0x' ? null : hash;
  }

  /** The API, connecting first if needed; checks the genesis hash once per connection. */
  private async connect(): Promise<ApiPromise> {
    if (this.api?.isConnected) return this.api;
    await this.disconnect();
    const provider = new WsProvider(this.config.rpcUrl, false);
    let api: ApiPromise | undefined;
    try {
      await opened(provider, this.stopping.signal);
      api = await ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true });
      if (this.stopping.signal.aborted) throw new Error('stopped');
      const genesis = api.genesisHash.toHex();
      if (genesis !== this.config.genesisHash) {
        throw new Error(
          `RPC serves genesis ${genesis}, configured genesisHash is ${this.config.genesisHash}`,
        );
      }
      this.ss58Prefix = this.config.ss58Prefix ?? api.registry.chainSS58 ?? GENERIC_SS58;
      const unsub = await api.rpc.chain.subscribeFinalizedHeads(() => this.poll.wakeUp());
      this.unsubscribe = () => unsub();
      // With auto-reconnect off, a dropped socket stays dropped: the next step connects again.
      api.on('disconnected', () => this.poll.wakeUp());
      this.api = api;
      return api;
    } catch (e) {
      await (api ? api.disconnect() : provider.disconnect()).catch(() => {});
      throw e;
    }
  }

  private async disconnect(): Promise<void> {
    const api = this.api;
    this.api = undefined;
    try {
      this.unsubscribe?.();
    } catch {
      // the socket is already gone
    }
    this.unsubscribe = undefined;
    await api?.disconnect().catch(() => {});
  }
}

/** Connects the provider; rejects on a socket error, close, timeout or stop. */
function opened(provider: WsProvider, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const offs: (() => void)[] = [];
    const done = (error?: Error) => {
      clearTimeout(timer);
      for (const off of offs) off();
      signal.removeEventListener('abort', aborted);
      if (error) reject(error);
      else resolve();
    };
    const aborted = () => done(new Error('stopped'));
    const timer = setTimeout(
      () => done(new Error(`no connection after ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    signal.addEventListener('abort', aborted, { once: true });
    offs.push(
      provider.on('connected', () => done()),
      provider.on('error', (e: unknown) => done(new Error(`cannot connect: ${errorText(e)}`))),
      provider.on('disconnected', () => done(new Error('connection closed'))),
    );
    provider.connect().catch((e: unknown) => done(e instanceof Error ? e : new Error(String(e))));
  });
}

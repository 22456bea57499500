/**
 * The harvester: one adapter per configured chain, each followed from its stored checkpoint. Every block
 * an adapter hands out is committed in one LevelDB batch (events, derived state, undo, checkpoint) before
 * the adapter moves on; a reorg item rolls the state back to the common ancestor, and the new branch
 * follows as ordinary blocks. After each commit the worlds of touched Odyssey NFTs are reconciled and the
 * new events are handed to the publisher (gossip, later).
 *
 * Adding a chain family is a new adapter file plus an entry in ADAPTERS and the config schema.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Database } from '../storage/db/database.ts';
import { type AdapterStatus, type BlockRef, type ChainAdapter, type ChainEvent, sleep } from './adapter.ts';
import { ChainStore } from './chain-store.ts';
import type { ChainConfig, EvmChainConfig, SubstrateChainConfig } from './config.ts';
import { EvmAdapter } from './evm/evm-adapter.ts';
import { errorText } from './evm/rpc.ts';
import { odysseyIdOf, odysseySequence } from './odyssey-id.ts';
import type { OdysseyWorlds } from './odyssey-worlds.ts';
import { ChainQueries } from './queries.ts';
import { canonicalId, stateKey, type Touched } from './state.ts';
import { SubstrateAdapter } from './substrate/substrate-adapter.ts';

export type { ChainConfig };

const ADAPTERS: Record<ChainConfig['family'], (config: ChainConfig, logger: Logger) => ChainAdapter> = {
  evm: (config, logger) => new EvmAdapter({ config: config as EvmChainConfig, logger }),
  substrate: (config, logger) => new SubstrateAdapter({ config: config as SubstrateChainConfig, logger }),
};

/** Where normalised events go besides this node's state: the federation layer plugs gossip in here. */
export interface ChainEventPublisher {
  publish(events: readonly ChainEvent[]): void;
}

/** Until federation exists, publishing is a no-op. */
export const noopPublisher: ChainEventPublisher = { publish: () => {} };

export interface HarvesterComponents {
  db: Database;
  logger: Logger;
  chains: ChainConfig[];
  /** What Odyssey NFTs do to worlds; without it, NFTs only become ownership records. */
  worlds?: OdysseyWorlds;
  publisher?: ChainEventPublisher;
  /** Adapters to use instead of the ones built from `chains` (same order). */
  adapters?: ChainAdapter[];
}

export interface HarvesterEvents {
  block: [{ chain: string; chainId: string; block: BlockRef; events: ChainEvent[] }];
  reorg: [
    { chain: string; chainId: string; ancestor: BlockRef | null; from: BlockRef; undone: ChainEvent[] },
  ];
}

export interface ChainStatus extends AdapterStatus {
  /** Last failure committing or acting on a block (the adapter's lastError covers the RPC). */
  processingError: string | null;
  lastBlockAt: number | null;
}

export interface HarvesterStatus {
  enabled: boolean;
  chains: ChainStatus[];
  /** Events reported by peers and not yet seen through this node's own RPC. */
  unverifiedHints: number;
}

interface Run {
  config: ChainConfig;
  adapter: ChainAdapter;
  processingError: string | null;
  lastBlockAt: number | null;
}

export class Harvester extends EventEmitter<HarvesterEvents> {
  readonly store: ChainStore;
  /** Balances, stakes and owners for the REST routes. */
  readonly queries: ChainQueries;
  private readonly db: Database;
  private readonly log: Logger;
  private readonly worlds: OdysseyWorlds | undefined;
  private readonly publisher: ChainEventPublisher;
  private readonly runs: Run[];
  private controller = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(components: HarvesterComponents) {
    super();
    this.db = components.db;
    this.store = new ChainStore({ db: components.db });
    this.queries = new ChainQueries({ store: this.store, chains: components.chains });
    this.log = components.logger.child({ component: 'harvester' });
    this.worlds = components.worlds;
    this.publisher = components.publisher ?? noopPublisher;
    this.runs = components.chains.map((config, i) => ({
      config,
      adapter: components.adapters?.[i] ?? ADAPTERS[config.family](config, components.logger),
      processingError: null,
      lastBlockAt: null,
    }));
  }

  get enabled(): boolean {
    return this.runs.length > 0;
  }

  async start(): Promise<void> {
    this.controller = new AbortController();
    for (const run of this.runs) {
      await run.adapter.start();
      this.loops.push(this.loop(run, this.controller.signal));
    }
    if (this.enabled) this.log.info({ chains: this.runs.map((r) => r.config.name) }, 'harvester started');
  }

  /** Stops following; a block being committed finishes first. */
  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.all(this.runs.map((r) => r.adapter.stop()));
    await Promise.allSettled(this.loops);
    this.loops = [];
  }

  /** Blocks behind the head per chain (null until known), without the hint count status() reads. */
  lagByChain(): { chain: string; lag: number | null }[] {
    return this.runs.map((r) => ({ chain: r.config.name, lag: r.adapter.status().lag }));
  }

  async status(): Promise<HarvesterStatus> {
    let unverifiedHints = 0;
    for await (const _ of this.db.chainHints.keys()) unverifiedHints++;
    return {
      enabled: this.enabled,
      chains: this.runs.map((r) => ({
        ...r.adapter.status(),
        processingError: r.processingError,
        lastBlockAt: r.lastBlockAt,
      })),
      unverifiedHints,
    };
  }

  /**
   * An event a peer saw. STUB: it is recorded as an unverified hint and changes no state; when this
   * node's own adapter later processes the same event, the hint is dropped as confirmed. Peers' hints for
   * chains this node does not follow stay hints (nothing acts on them yet).
   */
  async acceptHint(event: ChainEvent, from: string): Promise<'known' | 'recorded'> {
    const id = canonicalId(event);
    if (await this.store.event(id)) return 'known';
    await this.db.chainHints.put(id, { event: { ...event, id } as never, from, receivedAt: Date.now() });
    return 'recorded';
  }

  private async loop(run: Run, signal: AbortSignal): Promise<void> {
    const { adapter } = run;
    let backoff = 100;
    let reconciled = false;
    while (!signal.aborted) {
      try {
        if (!reconciled) {
          // Brings worlds in line with NFT state a crash may have left behind (idempotent).
          await this.reconcileAll(run);
          reconciled = true;
        }
        const from = await this.store.checkpoint(adapter.chainId);
        for await (const item of adapter.follow(from, this.store.processed(adapter.chainId), signal)) {
          if (item.type === 'block') {
            const applied = await this.store.applyBlock(
              adapter.chainId,
              item.block,
              item.events,
              run.config.reorgWindow,
            );
            await this.act(run, applied.touched);
            run.lastBlockAt = Date.now();
            if (applied.events.length) this.publisher.publish(applied.events);
            this.emit('block', {
              chain: run.config.name,
              chainId: adapter.chainId,
              block: item.block,
              events: applied.events,
            });
          } else {
            const undone = await this.store.rollback(adapter.chainId, item.ancestor);
            await this.act(run, undone.touched);
            this.emit('reorg', {
              chain: run.config.name,
              chainId: adapter.chainId,
              ancestor: item.ancestor,
              from: item.from,
              undone: undone.events,
            });
          }
          run.processingError = null;
          backoff = 100;
        }
      } catch (e) {
        if (signal.aborted) return;
        run.processingError = errorText(e);
        this.log.error({ err: e, chain: run.config.name }, 'harvester failed to process a block; retrying');
        await sleep(backoff, signal);
        backoff = Math.min(30_000, backoff * 2);
      }
    }
  }

  /** Worlds of Odyssey NFTs whose owner changed. */
  private async act(run: Run, touched: Touched): Promise<void> {
    const nft = run.config.family === 'evm' ? run.config.contracts.odysseyNft : undefined;
    if (!this.worlds || !nft) return;
    const prefix = stateKey(run.adapter.chainId, nft, '');
    for (const k of touched.nfts) {
      if (k.startsWith(prefix)) await this.reconcileToken(run, nft, k.slice(prefix.length));
    }
  }

  private async reconcileAll(run: Run): Promise<void> {
    const nft = run.config.family === 'evm' ? run.config.contracts.odysseyNft : undefined;
    if (!this.worlds || !nft) return;
    for (const [[tokenId]] of await this.store.entries('nft', run.adapter.chainId, nft)) {
      await this.reconcileToken(run, nft, tokenId);
    }
  }

  private async reconcileToken(run: Run, nft: string, tokenId: string): Promise<void> {
    const id = BigInt(tokenId);
    const odysseyId = odysseyIdOf(id);
    if (!odysseyId || !this.worlds) return;
    const owner = (await this.store.value('nft', run.adapter.chainId, nft, tokenId)) ?? null;
    await this.worlds.reconcile(odysseyId, owner, `Odyssey#${odysseySequence(id)}`);
  }
}

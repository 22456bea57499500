/**
 * The harvester: one adapter per configured chain, each followed from its stored checkpoint. Every block
 * an adapter hands out is committed in one LevelDB batch (events, derived state, undo, checkpoint, and the
 * node's block effects, see block-effects.ts) before the adapter moves on; a reorg item rolls the state back to the common ancestor, and the new branch
 * follows as ordinary blocks. After each commit the worlds of touched Odyssey NFTs are reconciled and the
 * block is shared with peers (peers/sharing.ts): published when this node read it through its own RPC;
 * a chain with `"source": "peers"` gets its blocks from trusted peers instead (peers/peer-adapter.ts).
 *
 * Adding a chain family is a new adapter file plus an entry in ADAPTERS and the config schema.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ChainBlockAnnouncement } from '../protocol/gossip/index.ts';
import type { Database } from '../storage/db/database.ts';
import type { AdapterStatus, BlockRef, ChainAdapter, ChainEvent } from './adapter.ts';
import type { BlockEffects } from './block-effects.ts';
import { ChainStore } from './chain-store.ts';
import type { ChainConfig, EvmChainConfig, SubstrateChainConfig } from './config.ts';
import { errorText } from './error-text.ts';
import { Backoff } from './follow-loop.ts';
import { LazyAdapter } from './lazy-adapter.ts';
import { odysseyIdOf, odysseySequence } from './odyssey-id.ts';
import type { OdysseyWorlds } from './odyssey-worlds.ts';
import type { PullAnswer } from './peers/answer.ts';
import {
  type ChainBlockPublisher,
  type ChainGapFiller,
  ChainSharing,
  type ChainSharingStatus,
  type ReceiveVerdict,
} from './peers/sharing.ts';
import { ChainQueries } from './queries.ts';
import { stateKey, type Touched } from './state.ts';

export type { ChainConfig };

/** Each family's adapter module is imported when a chain of it starts (lazy-adapter.ts). */
const ADAPTERS: Record<ChainConfig['family'], (config: ChainConfig, logger: Logger) => ChainAdapter> = {
  evm: (config, logger) =>
    new LazyAdapter(config.name, 'evm', async () => {
      const { EvmAdapter } = await import('./evm/evm-adapter.ts');
      return new EvmAdapter({ config: config as EvmChainConfig, logger });
    }),
  substrate: (config, logger) =>
    new LazyAdapter(config.name, 'substrate', async () => {
      const { SubstrateAdapter } = await import('./substrate/substrate-adapter.ts');
      return new SubstrateAdapter({ config: config as SubstrateChainConfig, logger });
    }),
};

export type { ChainBlockPublisher };

export interface HarvesterComponents {
  db: Database;
  logger: Logger;
  chains: ChainConfig[];
  /** What Odyssey NFTs do to worlds; without it, NFTs only become ownership records. */
  worlds?: OdysseyWorlds;
  /** Where processed blocks of RPC chains are published (the federation's chain topic); settable later. */
  publisher?: ChainBlockPublisher;
  /** Distinct trusted peers that must publish the same block before a `source: peers` chain applies it. */
  chainQuorum?: number;
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
  /** Sharing with peers: the source, per-peer disagreements and distrust, quorum and waiting blocks. */
  sharing: ChainSharingStatus;
}

export interface HarvesterStatus {
  enabled: boolean;
  chains: ChainStatus[];
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
  private readonly sharing: ChainSharing;
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
    this.sharing = new ChainSharing({
      db: components.db,
      store: this.store,
      logger: components.logger,
      chains: components.chains,
      quorum: components.chainQuorum ?? 1,
    });
    this.sharing.setPublisher(components.publisher);
    this.runs = components.chains.map((config, i) => ({
      config,
      adapter:
        components.adapters?.[i] ??
        this.sharing.feedOf(config) ??
        ADAPTERS[config.family](config, components.logger),
      processingError: null,
      lastBlockAt: null,
    }));
  }

  /** What the node writes with each block's new events, in the block's batch (set before `start`). */
  setBlockEffects(effects: BlockEffects): void {
    this.store.setEffects(effects);
  }

  get enabled(): boolean {
    return this.runs.length > 0;
  }

  /** The chain ids whose topics the federation follows for this node. */
  get sharedChains(): string[] {
    return this.sharing.chainIds();
  }

  setPublisher(publisher: ChainBlockPublisher | undefined): void {
    this.sharing.setPublisher(publisher);
  }

  setGapFiller(filler: ChainGapFiller | undefined): void {
    this.sharing.setGapFiller(filler);
  }

  peersAvailable(): void {
    this.sharing.peersAvailable();
  }

  /** A trusted peer's pull of committed blocks (see ChainSharing.answer). */
  async answerPeerPull(request: {
    chainId: string;
    from: number;
    to: number;
  }): Promise<PullAnswer | { refused: string }> {
    const run = this.runs.find((r) => r.adapter.chainId === request.chainId);
    if (!run) return { refused: 'unknown_chain' };
    return this.sharing.answer(request, run.adapter.status().processed);
  }

  async start(): Promise<void> {
    this.controller = new AbortController();
    await this.sharing.load();
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
    return {
      enabled: this.enabled,
      chains: this.runs.map((r) => ({
        ...r.adapter.status(),
        processingError: r.processingError,
        lastBlockAt: r.lastBlockAt,
        sharing: this.sharing.status(r.adapter.chainId),
      })),
    };
  }

  /** A block a trusted peer published on a chain topic (decoded; the signer checked by the federation). */
  async receivePeerBlock(block: ChainBlockAnnouncement, from: string): Promise<ReceiveVerdict> {
    const run = this.runs.find((r) => r.adapter.chainId === block.chainId);
    if (!run) return 'ignore';
    return this.sharing.receive(block, from, run.adapter.status().processed);
  }

  /**
   * An operator trusts a peer again for a chain (by name) after it published a wrong block. False when
   * the chain is unknown or nothing was held against the peer there.
   */
  async trustPeerAgain(chainName: string, peerId: string): Promise<boolean> {
    const run = this.runs.find((r) => r.config.name === chainName);
    return run ? this.sharing.trustAgain(run.adapter.chainId, peerId) : false;
  }

  private async loop(run: Run, signal: AbortSignal): Promise<void> {
    const { adapter } = run;
    const backoff = new Backoff();
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
            await this.sharing.committed(adapter.chainId, item.block, item.events);
            this.emit('block', {
              chain: run.config.name,
              chainId: adapter.chainId,
              block: item.block,
              events: applied.events,
            });
          } else {
            const undone = await this.store.rollback(adapter.chainId, item.ancestor);
            await this.act(run, undone.touched);
            await this.sharing.rolledBack(adapter.chainId, item.ancestor);
            this.emit('reorg', {
              chain: run.config.name,
              chainId: adapter.chainId,
              ancestor: item.ancestor,
              from: item.from,
              undone: undone.events,
            });
          }
          run.processingError = null;
          backoff.reset();
        }
      } catch (e) {
        if (signal.aborted) return;
        run.processingError = errorText(e);
        this.log.error({ err: e, chain: run.config.name }, 'harvester failed to process a block; retrying');
        await backoff.wait(signal);
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

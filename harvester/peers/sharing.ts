/**
 * Chains shared between nodes. For a chain this node reads through its own RPC, every processed block is
 * published (through the publisher the federation plugs in) and what peers publish is cross-checked
 * (PeerCheck). For a chain with `"source": "peers"`, what peers publish is the chain (PeerChainAdapter).
 * A node never re-publishes a chain it follows through peers: a quorum must be made of independent
 * readings, not of echoes.
 */
import type { Logger } from 'pino';
import {
  type ChainBlockAnnouncement,
  MAX_CHAIN_EVENTS,
  MAX_COVERED_ACCOUNTS,
} from '../../protocol/gossip/index.ts';
import type { Database } from '../../storage/db/database.ts';
import type { BlockRef, ChainEvent } from '../adapter.ts';
import type { ChainStore } from '../chain-store.ts';
import { type ChainConfig, chainIdOf } from '../config.ts';
import { accountIdOf } from '../state.ts';
import { answerPull, type PullAnswer } from './answer.ts';
import { StoredBlocks } from './blocks.ts';
import { type Coverage, coversItsEvents, ownCoverage } from './coverage.ts';
import { type ChainGapFiller, PeerChainAdapter, type PeerFeedStatus } from './peer-adapter.ts';
import { PeerCheck, SETTLE_DEPTH } from './peer-check.ts';
import { ChainPeerTrust, type ChainPeerView } from './trust.ts';
import { isShared, toWire } from './wire.ts';

export type { ChainGapFiller };

/** Where this node's processed blocks go: the federation's chain topic. */
export interface ChainBlockPublisher {
  publish(block: ChainBlockAnnouncement): void;
}

export type ReceiveVerdict = 'accept' | 'ignore' | { reject: string };

export interface ChainSharingStatus {
  source: 'rpc' | 'peers';
  /** Peers this node found publishing wrong blocks of this chain (RPC chains), and who is distrusted. */
  peers: ChainPeerView[];
  /** RPC chains: peer publications compared with this node's reading, and those too old to compare. */
  checked: number;
  unverifiable: number;
  /** RPC chains: peer blocks that differ from this node's because of a reorg (not held against the peer). */
  superseded: number;
  /** Peers chains: quorum, gaps and blocks waiting for a quorum. */
  feed: PeerFeedStatus | null;
  /**
   * Peers chains: accounts this node is configured to watch that the publications it applied last do
   * not cover. Nothing is derived for them here (no balance shown) until a publisher watches them.
   */
  uncovered: string[];
}

interface Shared {
  config: ChainConfig;
  chainId: string;
  /** The accounts this node watches on the chain (what it publishes for); null = every account. */
  coverage: Coverage;
  check?: PeerCheck;
  feed?: PeerChainAdapter;
  /** Last processed block with shared events (the link of the next publication); undefined = not read yet. */
  lastShared?: BlockRef | null;
}

export class ChainSharing {
  readonly blocks: StoredBlocks;
  readonly trust: ChainPeerTrust;
  private readonly log: Logger;
  private readonly quorum: number;
  private readonly chains = new Map<string, Shared>();
  private publisher: ChainBlockPublisher | undefined;
  private readonly store: ChainStore;

  constructor(components: {
    db: Database;
    store: ChainStore;
    logger: Logger;
    chains: ChainConfig[];
    quorum: number;
  }) {
    this.blocks = new StoredBlocks(components.db);
    this.log = components.logger.child({ component: 'chain-sharing' });
    this.trust = new ChainPeerTrust({ db: components.db, logger: this.log });
    this.quorum = components.quorum;
    this.store = components.store;
    for (const config of components.chains) {
      const chainId = chainIdOf(config);
      const shared: Shared = { config, chainId, coverage: ownCoverage(config) };
      if (config.source === 'peers') {
        shared.feed = new PeerChainAdapter({
          name: config.name,
          family: config.family,
          chainId,
          quorum: this.quorum,
          blocks: this.blocks,
          logger: components.logger,
        });
      } else {
        shared.check = new PeerCheck({
          chainId,
          store: components.store,
          blocks: this.blocks,
          trust: this.trust,
          confirmations: settledAfter(config),
          coverage: shared.coverage,
        });
      }
      this.chains.set(chainId, shared);
    }
  }

  /** The chain ids whose topic this node follows (all configured chains). */
  chainIds(): string[] {
    return [...this.chains.keys()];
  }

  /** The adapter of a `source: peers` chain. */
  feedOf(config: ChainConfig): PeerChainAdapter | undefined {
    return this.chains.get(chainIdOf(config))?.feed;
  }

  setPublisher(publisher: ChainBlockPublisher | undefined): void {
    this.publisher = publisher;
  }

  /** Plugs the federation's chain pull into every `source: peers` chain (undefined: gossip only). */
  setGapFiller(filler: ChainGapFiller | undefined): void {
    for (const shared of this.chains.values()) shared.feed?.setGapFiller(filler);
  }

  /** A trusted peer became reachable: `source: peers` chains ask it for what they missed. */
  peersAvailable(): void {
    for (const shared of this.chains.values()) shared.feed?.catchUp();
  }

  /**
   * A trusted peer asks for committed blocks of a chain. Answered only for a chain this node reads through
   * its own RPC: what it applied from peers would be an echo, and a quorum must be independent readings.
   */
  async answer(
    request: { chainId: string; from: number; to: number },
    processed: number | null,
  ): Promise<PullAnswer | { refused: string }> {
    const shared = this.chains.get(request.chainId);
    if (!shared) return { refused: 'unknown_chain' };
    if (!shared.check) return { refused: 'not_read_here' };
    // The accounts this node covers, as its publications say (Substrate): an answer must match them.
    const accounts = shared.coverage ? [...shared.coverage] : undefined;
    if ((accounts?.length ?? 0) > MAX_COVERED_ACCOUNTS) return { refused: 'not_published' };
    return answerPull({ blocks: this.blocks, store: this.store }, request, processed, accounts);
  }

  async load(): Promise<void> {
    await this.trust.load();
  }

  /** After a block was committed: publish it (RPC chains), then check what peers published up to it. */
  async committed(chainId: string, block: BlockRef, events: readonly ChainEvent[]): Promise<void> {
    const shared = this.chains.get(chainId);
    if (!shared?.check) return;
    shared.lastShared ??= await this.blocks.lastWithEvents(chainId, block.number - 1);
    const wire = events.filter(isShared).map(toWire);
    const accounts = shared.coverage ? [...shared.coverage] : undefined;
    if (wire.length > MAX_CHAIN_EVENTS || (accounts?.length ?? 0) > MAX_COVERED_ACCOUNTS) {
      this.log.warn(
        { chainId, block: block.number, events: wire.length, accounts: accounts?.length },
        'block not published: too many events, or more watched accounts than a publication may cover',
      );
    } else {
      this.publisher?.publish({
        chainId,
        number: block.number,
        hash: block.hash,
        link: shared.lastShared,
        events: wire,
        ...(accounts ? { accounts } : {}),
      });
    }
    if (wire.length) shared.lastShared = block;
    shared.check.processedBlock(block);
    await shared.check.caughtUp(block.number);
  }

  /** After a rollback: the next publication links to the last block with events that is still kept. */
  async rolledBack(chainId: string, ancestor: BlockRef | null): Promise<void> {
    const shared = this.chains.get(chainId);
    if (shared?.check)
      shared.lastShared = ancestor ? await this.blocks.lastWithEvents(chainId, ancestor.number) : null;
  }

  /** A block a trusted peer published on the chain's topic. */
  async receive(a: ChainBlockAnnouncement, peer: string, processed: number | null): Promise<ReceiveVerdict> {
    const shared = this.chains.get(a.chainId);
    if (!shared) return 'ignore';
    if (this.trust.isDistrusted(a.chainId, peer)) return 'ignore';
    if (!coversItsEvents(a)) return { reject: 'outside_coverage' };
    if (shared.feed) return shared.feed.receive(a, peer);
    const fine = await shared.check?.receive(a, peer, processed);
    return fine === false ? { reject: 'chain_disagrees' } : 'accept';
  }

  /** The operator's word: the peer counts again for the chain. False when nothing was held against it. */
  async trustAgain(chainId: string, peer: string): Promise<boolean> {
    return this.trust.trust(chainId, peer);
  }

  status(chainId: string): ChainSharingStatus {
    const shared = this.chains.get(chainId);
    return {
      source: shared?.config.source ?? 'rpc',
      peers: this.trust.of(chainId),
      checked: shared?.check?.checked ?? 0,
      unverifiable: shared?.check?.unverifiable ?? 0,
      superseded: shared?.check?.superseded ?? 0,
      feed: shared?.feed?.feedStatus() ?? null,
      uncovered: shared?.feed ? this.uncovered(shared, shared.feed.lastCoverage) : [],
    };
  }

  /** Accounts configured here (as configured) that the last applied publication did not cover. */
  private uncovered(shared: Shared, applied: Coverage | undefined): string[] {
    const { config } = shared;
    if (config.family !== 'substrate' || applied === null) return [];
    return config.accounts.filter((a) => {
      const id = accountIdOf(a);
      return !applied || !id || !applied.has(id);
    });
  }
}

/**
 * Confirmations a block of this chain has when this node processes it: a chain followed at its finalized
 * head (Substrate, EVM `finalized`) does not reorganise, so its blocks are settled at once.
 */
function settledAfter(config: ChainConfig): number {
  if (config.family !== 'evm' || config.confirmations === 'finalized') return SETTLE_DEPTH;
  return config.confirmations;
}

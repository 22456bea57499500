/**
 * The adapter of a chain configured with `"source": "peers"`: no RPC; its blocks are the ones a quorum
 * of trusted peers published on the chain topic. It plugs into the harvester like any adapter, so the
 * same loop commits each block through the chain store and rolls back with the same reorg items.
 *
 * Where a block goes is decided from the publishers' link (the previous block they processed that had
 * events) against the blocks this node stored:
 * - a block already stored with the same hash: nothing to do;
 * - blocks with events stored above the link, or a different hash stored at this height: they are off
 *   the chain the quorum follows, so roll back to the link (or below) first, as for an RPC reorg;
 * - a link this node never stored, above what it processed (it missed publications: started late,
 *   restarted, partitioned): first ask trusted peers for the missing heights (the gap filler, a chain
 *   pull); their answers are votes like gossip, so the missed blocks are applied once a quorum answered,
 *   lowest first. If no quorum answers, the block is applied anyway, counted as a gap and logged: the
 *   state then lacks the missed events;
 * - a block without events below what was processed: stale news, dropped.
 *
 * Besides a link it lacks, a node pulls when a trusted peer becomes reachable (start, restart, end of a
 * partition: `catchUp`) and when no block was ready for IDLE_PULL_MS (gossip that never arrives), each time
 * from the height after what it processed up to the head the answering peers report.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ChainBlockAnnouncement } from '../../protocol/gossip/index.ts';
import type {
  AdapterEvents,
  AdapterStatus,
  BlockRef,
  ChainAdapter,
  ChainFamily,
  FollowItem,
  ProcessedBlocks,
} from '../adapter.ts';
import { newAdapterState } from '../follow-loop.ts';
import type { StoredBlocks } from './blocks.ts';
import { type Coverage, coverageOf } from './coverage.ts';
import { BlockVotes, type Candidate, type WaitingBlock } from './votes.ts';
import { blockDigest, fromWire } from './wire.ts';

/** With no block ready for this long, the node asks trusted peers whether it missed any. */
export const IDLE_PULL_MS = 30_000;

export interface PeerAdapterOptions {
  name: string;
  family: ChainFamily;
  chainId: string;
  quorum: number;
  blocks: StoredBlocks;
  logger: Logger;
}

export interface PeerFeedStatus {
  quorum: number;
  /** Blocks applied without their link (missed publications). */
  gaps: number;
  /** Pulls of missed blocks asked of peers (catch-ups and gap fills). */
  pulls: number;
  /** Blocks published but not (yet) by a quorum. */
  waiting: WaitingBlock[];
  /** Account ids the last applied block's publishers covered; null = every account (or none applied). */
  accounts: string[] | null;
}

/**
 * How a `source: peers` chain asks trusted peers for blocks it lacks (the federation's chain pull): every
 * block of every answer comes back through `receive`, as that peer's vote. `to` null: up to the peers' head.
 */
export interface ChainGapFiller {
  fill(chainId: string, from: number, to: number | null, signal: AbortSignal): Promise<void>;
}

export class PeerChainAdapter extends EventEmitter<AdapterEvents> implements ChainAdapter {
  readonly name: string;
  readonly family: ChainFamily;
  readonly chainId: string;
  private readonly votes: BlockVotes;
  private readonly blocks: StoredBlocks;
  private readonly log: Logger;
  private readonly state = newAdapterState();
  private head: number | null = null;
  private gaps = 0;
  /** The accounts the last applied block's publishers covered (null: all); undefined before the first. */
  lastCoverage: Coverage | undefined;
  private wake: (() => void) | undefined;
  private filler: ChainGapFiller | undefined;
  /** A catch-up pull is due (at start, when a peer became reachable, after a quiet while). */
  private pullWanted = true;
  /** The candidate whose missing link was last pulled for: asked once, then applied as it is. */
  private filledFor: string | undefined;
  private pulls = 0;

  constructor(options: PeerAdapterOptions) {
    super();
    this.name = options.name;
    this.family = options.family;
    this.chainId = options.chainId;
    this.votes = new BlockVotes(options.quorum);
    this.blocks = options.blocks;
    this.log = options.logger.child({ component: 'peer-chain', chain: options.name });
  }

  async start(): Promise<void> {
    this.state.health = 'starting';
  }

  async stop(): Promise<void> {
    this.state.health = 'stopped';
    this.wake?.();
  }

  /**
   * A block a trusted peer published. Refused when it names another chain or a kind of event peers may
   * not publish; otherwise counted as the peer's vote.
   */
  receive(announcement: ChainBlockAnnouncement, peer: string): 'accept' | { reject: string } {
    if (announcement.chainId !== this.chainId) return { reject: 'wrong_chain' };
    const events = fromWire(announcement);
    if (!events) return { reject: 'unshared_kind' };
    this.votes.vote(announcement, events, blockDigest(announcement), peer);
    this.wake?.();
    return 'accept';
  }

  feedStatus(): PeerFeedStatus {
    return {
      quorum: this.votes.quorum,
      gaps: this.gaps,
      pulls: this.pulls,
      waiting: this.votes.waiting(),
      accounts: this.lastCoverage ? [...this.lastCoverage].sort() : null,
    };
  }

  setGapFiller(filler: ChainGapFiller | undefined): void {
    this.filler = filler;
    this.wake?.();
  }

  /** Asks peers for what this node missed, at the loop's next turn. */
  catchUp(): void {
    this.pullWanted = true;
    this.wake?.();
  }

  status(): AdapterStatus {
    const s = this.state;
    return {
      name: this.name,
      family: this.family,
      chainId: this.chainId,
      health: s.health,
      head: this.head,
      confirmed: this.head,
      processed: s.processed,
      lag: this.head !== null && s.processed !== null ? Math.max(0, this.head - s.processed) : null,
      rangeSize: 0,
      reorgs: s.reorgs,
      lastError: s.lastError,
      lastErrorAt: s.lastErrorAt,
    };
  }

  async *follow(from: BlockRef | undefined, _processed: ProcessedBlocks, signal: AbortSignal) {
    const s = this.state;
    s.processed = from?.number ?? null;
    s.health = 'ok';
    const stop = () => this.wake?.();
    signal.addEventListener('abort', stop, { once: true });
    try {
      while (!signal.aborted) {
        if (this.pullWanted && this.filler) {
          this.pullWanted = false;
          await this.pull((s.processed ?? -1) + 1, null, signal);
          continue;
        }
        const candidate = this.votes.next();
        if (!candidate) {
          await this.idle();
          continue;
        }
        const a = candidate.announcement;
        const filled = `${a.number}:${candidate.digest}`;
        if (this.filler && this.filledFor !== filled && (await this.missesLink(a, s.processed))) {
          // The heights between what was processed and this block: lower blocks a quorum answers for
          // become ready and are applied first, then this one finds its link.
          this.filledFor = filled;
          await this.pull((s.processed ?? -1) + 1, a.number - 1, signal);
          continue;
        }
        // The head is what a quorum published: one peer's claim of a far block does not move it.
        this.head = Math.max(this.head ?? 0, candidate.announcement.number);
        for (const item of await this.itemsFor(candidate, s.processed)) {
          if (signal.aborted) return;
          yield item;
          // Only now, after the harvester committed it, is the item processed.
          if (item.type === 'reorg') {
            s.reorgs++;
            s.processed = item.ancestor?.number ?? null;
            this.emit('reorg', { ancestor: item.ancestor, from: item.from });
          } else {
            s.processed = Math.max(s.processed ?? -1, item.block.number);
          }
        }
        this.lastCoverage = coverageOf(candidate.announcement);
        this.votes.done(candidate.announcement.number);
        if (s.processed !== null) this.votes.forgetBelow(s.processed);
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  /** Whether the block's link is above what was processed and not stored here: publications were missed. */
  private async missesLink(a: ChainBlockAnnouncement, processed: number | null): Promise<boolean> {
    if (!a.link || a.link.number <= (processed ?? -1)) return false;
    return (await this.blocks.at(this.chainId, a.link.number))?.hash !== a.link.hash;
  }

  private async pull(from: number, to: number | null, signal: AbortSignal): Promise<void> {
    const filler = this.filler;
    if (!filler) return;
    this.pulls++;
    try {
      await filler.fill(this.chainId, from, to, signal);
    } catch (error) {
      if (!signal.aborted) this.log.warn({ err: error, from, to }, 'pulling missed blocks from peers failed');
    }
  }

  /** Waits for a vote or a wake-up; after IDLE_PULL_MS of neither, a catch-up pull is due. */
  private async idle(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = this.filler
        ? setTimeout(() => {
            this.pullWanted = true;
            resolve();
          }, IDLE_PULL_MS)
        : undefined;
      timer?.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /** What applying a block a quorum published takes here: nothing, the block, or a rollback first. */
  private async itemsFor(c: Candidate, processed: number | null): Promise<FollowItem[]> {
    const a = c.announcement;
    const block = { number: a.number, hash: a.hash };
    const apply: FollowItem = { type: 'block', block, events: c.events };
    const stored = await this.blocks.at(this.chainId, a.number);
    if (stored?.hash === a.hash) return [];
    if (!stored && processed !== null && a.number <= processed && c.events.length === 0) return [];

    let floor = -1;
    let ancestor: BlockRef | null = null;
    if (a.link) {
      const linked = await this.blocks.at(this.chainId, a.link.number);
      if (linked?.hash === a.link.hash) {
        floor = a.link.number;
        ancestor = a.link;
      } else {
        // The publishers' previous block with events is not here: missed, or on a branch this node
        // does not have. Whatever is stored from its height on cannot be vouched for.
        floor = a.link.number - 1;
        ancestor = await this.blocks.below(this.chainId, a.link.number);
        const heldAbove = await this.blocks.withEventsBetween(this.chainId, floor, Number.MAX_SAFE_INTEGER);
        if (!heldAbove.length) {
          this.gaps++;
          this.log.warn(
            { block: a.number, link: a.link.number },
            'applying a block whose predecessor with events never reached this node: its events are missing here',
          );
        }
      }
    }
    const orphans = await this.blocks.withEventsBetween(this.chainId, floor, a.number);
    if (!orphans.length && (!stored || stored.hash === a.hash)) return [apply];
    this.log.info(
      { block: a.number, ancestor: ancestor?.number ?? null, orphans: orphans.map((o) => o.number) },
      'peers follow another branch: rolling back',
    );
    return [{ type: 'reorg', ancestor, from: block }, apply];
  }
}

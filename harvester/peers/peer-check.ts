/**
 * Cross-checks, on a node that reads a chain through its own RPC, what trusted peers publish for that
 * chain against what this node processed itself. A publication of a block this node has not reached yet
 * waits (bounded) until it has. A wrong hash, wrong events or a wrong link is a disagreement: counted,
 * logged, and the peer is distrusted for the chain (ChainPeerTrust) until an operator trusts it again.
 * Events are compared on the accounts both this node and the publisher cover (coverage.ts): a Substrate
 * balance (or balance event) of an account this node does not watch is not this node's to judge.
 *
 * Reorgs make an honest peer's block differ from this node's without any lie: at few confirmations a peer
 * publishes the block that was canonical for it then, and the chain moves on. So a block with the same
 * hash as this node's is judged at once (its events and link follow from the hash), but another block
 * (another hash, or events at a height where this node's block had none) is judged only once this node's
 * reading is `settleDepth` blocks past it, and even then it is no lie when
 * - this node itself once processed that hash at that height (it was canonical here too, then reorged);
 * - the peer has published another block at that height before it was judged (only its latest word at a
 *   height is judged: an honest publisher re-publishes the heights its reorg changed that have events);
 * - both blocks are quiet (no events on either side): two empty blocks differ in nothing a state holds.
 * Such publications are counted as superseded, not as disagreements. A later block whose link passes below
 * the height does not excuse it: every liar's next honest block would look like that.
 */
import type { ChainBlockAnnouncement } from '../../protocol/gossip/index.ts';
import type { ChainStore } from '../chain-store.ts';
import { sharedEventsOf } from './answer.ts';
import type { StoredBlocks } from './blocks.ts';
import { type Coverage, coverageOf, intersect, sameCoverage, within } from './coverage.ts';
import type { ChainPeerTrust } from './trust.ts';
import { eventsDigest, sameLink, toWire } from './wire.ts';

/** Publications waiting for this node to reach their block, per chain. */
export const MAX_QUEUED_CHECKS = 1024;
/** Blocks deep (counting the chain's confirmations) this node's reading must be before another hash is judged. */
export const SETTLE_DEPTH = 3;
/** Heights whose processed hashes are remembered (this node's own reorged-out blocks). */
const MAX_SEEN_HEIGHTS = 4096;

export type CheckResult = 'agrees' | 'unverifiable' | { disagrees: 'hash' | 'events' | 'link' };

interface Queued {
  announcement: ChainBlockAnnouncement;
  peer: string;
}

export class PeerCheck {
  private readonly chainId: string;
  private readonly store: ChainStore;
  private readonly blocks: StoredBlocks;
  private readonly trust: ChainPeerTrust;
  private readonly coverage: Coverage;
  private readonly settleDepth: number;
  private queued: Queued[] = [];
  /** height → hashes this node processed there (a later reorg does not make them lies). */
  private readonly seen = new Map<number, Set<string>>();
  /** Publications compared with this node's reading, the ones that could no longer be, and reorged ones. */
  checked = 0;
  unverifiable = 0;
  superseded = 0;

  constructor(components: {
    chainId: string;
    store: ChainStore;
    blocks: StoredBlocks;
    trust: ChainPeerTrust;
    /** The chain's confirmations (0 when unknown); another hash is judged SETTLE_DEPTH blocks deep. */
    confirmations?: number;
    /** The accounts this node watches on the chain (null: every account, or a chain without accounts). */
    coverage?: Coverage;
  }) {
    this.chainId = components.chainId;
    this.store = components.store;
    this.blocks = components.blocks;
    this.trust = components.trust;
    this.coverage = components.coverage ?? null;
    this.settleDepth = Math.max(0, SETTLE_DEPTH - (components.confirmations ?? 0));
  }

  /** A block this node processed: remembered, so that a peer's publication of it is never a lie. */
  processedBlock(block: { number: number; hash: string }): void {
    const hashes = this.seen.get(block.number) ?? new Set<string>();
    hashes.add(block.hash);
    this.seen.set(block.number, hashes);
    if (this.seen.size > MAX_SEEN_HEIGHTS) {
      const lowest = Math.min(...this.seen.keys());
      this.seen.delete(lowest);
    }
  }

  /** A publication received; false when it disagrees now (it is then refused, not relayed). */
  async receive(
    announcement: ChainBlockAnnouncement,
    peer: string,
    processed: number | null,
  ): Promise<boolean> {
    // The peer's newer word at a height replaces its older one, queued or held for settling.
    const n = announcement.number;
    this.queued = this.queued.filter((q) => q.peer !== peer || q.announcement.number !== n);
    if (processed === null || announcement.number > processed) {
      this.enqueue({ announcement, peer });
      return true;
    }
    return this.judge({ announcement, peer }, processed);
  }

  /** After this node processed up to `processed`: checks the publications that were waiting for it. */
  async caughtUp(processed: number): Promise<void> {
    const due = this.queued.filter((q) => q.announcement.number <= processed);
    if (!due.length) return;
    this.queued = this.queued.filter((q) => q.announcement.number > processed);
    for (const q of due) await this.judge(q, processed);
  }

  private enqueue(item: Queued): void {
    if (this.queued.length >= MAX_QUEUED_CHECKS) this.queued.shift();
    this.queued.push(item);
  }

  private async judge(item: Queued, processed: number): Promise<boolean> {
    const { announcement, peer } = item;
    if (this.trust.isDistrusted(this.chainId, peer)) return false;
    const result = await this.compare(announcement);
    if (result === 'unverifiable') {
      this.unverifiable++;
      return true;
    }
    let reason = result === 'agrees' ? undefined : result.disagrees;
    if (reason && (await this.otherBlock(announcement, reason))) {
      if (processed < announcement.number + this.settleDepth) {
        // Not settled here yet: judged when this node's reading is deep enough (or the peer says otherwise).
        this.enqueue(item);
        return true;
      }
      if (await this.reorgedOut(announcement)) {
        this.superseded++;
        return true;
      }
      // A block this node's chain does not have at that height, whatever else differs.
      reason = 'hash';
    }
    this.checked++;
    if (!reason) return true;
    await this.trust.disagreement(this.chainId, peer, reason, announcement.number);
    return false;
  }

  /**
   * Whether the disagreement is about another block than this node's at that height: another hash, or
   * events at a height this node stored nothing for (its block there had none, so it is not the same).
   */
  private async otherBlock(a: ChainBlockAnnouncement, reason: 'hash' | 'events' | 'link'): Promise<boolean> {
    if (reason === 'hash') return true;
    return reason === 'events' && a.events.length > 0 && !(await this.blocks.at(this.chainId, a.number));
  }

  /** Whether a block with another hash than this node's was canonical once, for this node or the peer. */
  private async reorgedOut(a: ChainBlockAnnouncement): Promise<boolean> {
    if (this.seen.get(a.number)?.has(a.hash)) return true;
    const stored = await this.blocks.at(this.chainId, a.number);
    return a.events.length === 0 && (await sharedEventsOf(this.store, stored)).length === 0;
  }

  /** The publication against this node's stored blocks and events. */
  async compare(a: ChainBlockAnnouncement): Promise<CheckResult> {
    const oldest = await this.blocks.oldest(this.chainId);
    if (oldest === null || a.number < oldest) return 'unverifiable';
    const stored = await this.blocks.at(this.chainId, a.number);
    if (stored && stored.hash !== a.hash) return { disagrees: 'hash' };
    // A height this node read through without events (or a block with them) must show the same events.
    const own = await sharedEventsOf(this.store, stored);
    const theirs = coverageOf(a);
    const common = intersect(this.coverage, theirs);
    if (eventsDigest(within(own.map(toWire), common)) !== eventsDigest(within(a.events, common)))
      return { disagrees: 'events' };
    // Which blocks had events depends on the accounts covered: links compare between equals only.
    if (!sameCoverage(this.coverage, theirs)) return 'agrees';
    if (!a.link || a.link.number >= oldest) {
      const expected = await this.blocks.lastWithEvents(this.chainId, a.number - 1);
      if (!sameLink(expected, a.link)) return { disagrees: 'link' };
    }
    return 'agrees';
  }
}

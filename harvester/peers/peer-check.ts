/**
 * Cross-checks, on a node that reads a chain through its own RPC, what trusted peers publish for that
 * chain against what this node processed itself. A publication of a block this node has not reached yet
 * waits (bounded) until it has. A wrong hash, wrong events or a wrong link is a disagreement: counted,
 * logged, and the peer is distrusted for the chain (ChainPeerTrust) until an operator trusts it again.
 * Events are compared on the accounts both this node and the publisher cover (coverage.ts): a Substrate
 * balance (or balance event) of an account this node does not watch is not this node's to judge.
 */
import type { ChainBlockAnnouncement } from '../../protocol/gossip/index.ts';
import type { ChainEvent } from '../adapter.ts';
import type { ChainStore } from '../chain-store.ts';
import type { StoredBlocks } from './blocks.ts';
import { type Coverage, coverageOf, intersect, sameCoverage, within } from './coverage.ts';
import type { ChainPeerTrust } from './trust.ts';
import { eventsDigest, isShared, sameLink, toWire } from './wire.ts';

/** Publications waiting for this node to reach their block, per chain. */
export const MAX_QUEUED_CHECKS = 1024;

export type CheckResult = 'agrees' | 'unverifiable' | { disagrees: 'hash' | 'events' | 'link' };

export class PeerCheck {
  private readonly chainId: string;
  private readonly store: ChainStore;
  private readonly blocks: StoredBlocks;
  private readonly trust: ChainPeerTrust;
  private readonly coverage: Coverage;
  private readonly queued: { announcement: ChainBlockAnnouncement; peer: string }[] = [];
  /** Publications compared with this node's reading, and the ones that could no longer be. */
  checked = 0;
  unverifiable = 0;

  constructor(components: {
    chainId: string;
    store: ChainStore;
    blocks: StoredBlocks;
    trust: ChainPeerTrust;
    /** The accounts this node watches on the chain (null: every account, or a chain without accounts). */
    coverage?: Coverage;
  }) {
    this.chainId = components.chainId;
    this.store = components.store;
    this.blocks = components.blocks;
    this.trust = components.trust;
    this.coverage = components.coverage ?? null;
  }

  /** A publication received; false when it disagrees now (it is then refused, not relayed). */
  async receive(
    announcement: ChainBlockAnnouncement,
    peer: string,
    processed: number | null,
  ): Promise<boolean> {
    if (processed === null || announcement.number > processed) {
      if (this.queued.length >= MAX_QUEUED_CHECKS) this.queued.shift();
      this.queued.push({ announcement, peer });
      return true;
    }
    return this.judge(announcement, peer);
  }

  /** After this node processed up to `processed`: checks the publications that were waiting for it. */
  async caughtUp(processed: number): Promise<void> {
    const due = this.queued.filter((q) => q.announcement.number <= processed);
    if (!due.length) return;
    const rest = this.queued.filter((q) => q.announcement.number > processed);
    this.queued.splice(0, this.queued.length, ...rest);
    for (const q of due) await this.judge(q.announcement, q.peer);
  }

  private async judge(announcement: ChainBlockAnnouncement, peer: string): Promise<boolean> {
    if (this.trust.isDistrusted(this.chainId, peer)) return false;
    const result = await this.compare(announcement);
    if (result === 'unverifiable') {
      this.unverifiable++;
      return true;
    }
    this.checked++;
    if (result === 'agrees') return true;
    await this.trust.disagreement(this.chainId, peer, result.disagrees, announcement.number);
    return false;
  }

  /** The publication against this node's stored blocks and events. */
  async compare(a: ChainBlockAnnouncement): Promise<CheckResult> {
    const oldest = await this.blocks.oldest(this.chainId);
    if (oldest === null || a.number < oldest) return 'unverifiable';
    const stored = await this.blocks.at(this.chainId, a.number);
    if (stored && stored.hash !== a.hash) return { disagrees: 'hash' };
    // A height this node read through without events (or a block with them) must show the same events.
    const own: ChainEvent[] = [];
    for (const id of stored?.eventIds ?? []) {
      const e = await this.store.event(id);
      if (e && isShared(e)) own.push(e);
    }
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

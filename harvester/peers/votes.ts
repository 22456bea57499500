/**
 * Votes of trusted peers on a chain's blocks: each peer's latest publication per height counts once, and
 * a block is ready when `quorum` distinct peers published the same one (number, hash, link, events).
 * Bounded: at most MAX_HEIGHTS heights are kept. Over that the highest go, so that a flood of far
 * blocks from one peer cannot push out the next block to apply; heights long applied are forgotten.
 */
import type { ChainBlockAnnouncement } from '../../protocol/gossip/index.ts';
import type { ChainEvent } from '../adapter.ts';

export const MAX_HEIGHTS = 512;

export interface Candidate {
  announcement: ChainBlockAnnouncement;
  events: ChainEvent[];
  digest: string;
  peers: Set<string>;
}

export interface WaitingBlock {
  number: number;
  hash: string;
  votes: number;
}

export class BlockVotes {
  readonly quorum: number;
  /** height → digest → candidate */
  private readonly heights = new Map<number, Map<string, Candidate>>();

  constructor(quorum: number) {
    this.quorum = quorum;
  }

  /** Records the peer's vote for this block (replacing its earlier vote at that height). */
  vote(announcement: ChainBlockAnnouncement, events: ChainEvent[], digest: string, peer: string): void {
    const n = announcement.number;
    let atHeight = this.heights.get(n);
    if (!atHeight) {
      atHeight = new Map();
      this.heights.set(n, atHeight);
      this.trim();
    }
    for (const [d, c] of atHeight) {
      if (d !== digest && c.peers.delete(peer) && c.peers.size === 0) atHeight.delete(d);
    }
    const candidate = atHeight.get(digest) ?? { announcement, events, digest, peers: new Set<string>() };
    candidate.peers.add(peer);
    atHeight.set(digest, candidate);
  }

  /** The lowest block with a quorum, if any (two at one height: the one more peers published). */
  next(): Candidate | undefined {
    for (const n of [...this.heights.keys()].sort((a, b) => a - b)) {
      const ready = [...(this.heights.get(n)?.values() ?? [])]
        .filter((c) => c.peers.size >= this.quorum)
        .sort((a, b) => b.peers.size - a.peers.size);
      if (ready.length) return ready[0];
    }
    return undefined;
  }

  /** Forgets a height once its block was applied (or found stale). */
  done(n: number): void {
    this.heights.delete(n);
  }

  waiting(limit = 10): WaitingBlock[] {
    const out: WaitingBlock[] = [];
    for (const n of [...this.heights.keys()].sort((a, b) => a - b)) {
      for (const c of this.heights.get(n)?.values() ?? []) {
        out.push({ number: n, hash: c.announcement.hash, votes: c.peers.size });
      }
    }
    return out.slice(0, limit);
  }

  /** Forgets heights more than MAX_HEIGHTS below what was applied: no quorum will come for them now. */
  forgetBelow(processed: number): void {
    for (const n of this.heights.keys()) if (n < processed - MAX_HEIGHTS) this.heights.delete(n);
  }

  private trim(): void {
    if (this.heights.size <= MAX_HEIGHTS) return;
    const highest = [...this.heights.keys()].sort((a, b) => b - a);
    for (const n of highest.slice(0, this.heights.size - MAX_HEIGHTS)) this.heights.delete(n);
  }
}

/**
 * A per-peer allowance for gossip from untrusted peers. Everything an untrusted node signs is refused,
 * but only after gossipsub has decoded the message and checked its signature: work a peer could make this
 * node do for free, as fast as its connection carries. An untrusted connected peer may have a burst of
 * messages refused, then some hundreds a second; past that it is graylisted for a while through gossipsub's
 * application-specific score, and gossipsub drops its RPCs unread. Trusted peers are never limited here
 * (a trusted peer relaying what a node it trusts, and this one does not, signed is normal running).
 */
import type { Logger } from 'pino';
import { RecentMap } from '../../common/recent-map.ts';
import { TokenBucket } from '../../common/token-bucket.ts';

/**
 * Untrusted messages a peer may have refused at once, then per second. Generous on purpose: a node that
 * trusts this one while this one does not trust it (a follower) publishes its people's positions in every
 * shared world ten times a second, and a graylisted peer is also one gossipsub stops publishing to. What
 * the bound takes away is the flood: thousands of signature checks a second for one connection.
 */
export const UNTRUSTED_BURST = 2000;
export const UNTRUSTED_PER_SECOND = 500;
/** How long a peer over its allowance stays graylisted (its score back to 0 afterwards). */
export const GRAYLIST_MS = 30_000;
/**
 * The application-specific score of a graylisted peer: times gossipsub's default weight (10), below its
 * default graylist threshold (-80).
 */
export const GRAYLIST_SCORE = -10;
/** Untrusted peers with an allowance kept: the most recently refused (a peer id costs nothing to make). */
const MAX_TRACKED = 1000;

interface Allowance {
  bucket: TokenBucket;
  graylistedUntil: number;
}

export class UntrustedFlood {
  private readonly log: Logger;
  private readonly peers = new RecentMap<string, Allowance>(MAX_TRACKED);

  constructor(logger: Logger) {
    this.log = logger;
  }

  /** An untrusted message from `peerId` was refused: takes from its allowance, graylists it when spent. */
  refused(peerId: string, now = Date.now()): void {
    const allowance = this.peers.touch(peerId, () => ({
      bucket: new TokenBucket(UNTRUSTED_PER_SECOND, UNTRUSTED_BURST, now),
      graylistedUntil: 0,
    }));
    if (allowance.bucket.take(now) || allowance.graylistedUntil > now) return;
    allowance.graylistedUntil = now + GRAYLIST_MS;
    this.log.warn({ peer: peerId, forMs: GRAYLIST_MS }, 'untrusted peer floods gossip: graylisted');
  }

  /** Gossipsub's application-specific score of a peer: GRAYLIST_SCORE while graylisted, else 0. */
  score(peerId: string, now = Date.now()): number {
    const until = this.peers.get(peerId)?.graylistedUntil ?? 0;
    return until > now ? GRAYLIST_SCORE : 0;
  }
}

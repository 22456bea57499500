/**
 * An allowance for gossip signed by trusted nodes, per node and topic and per node over all topics. A
 * trusted node is taken at its word, but a buggy or compromised one could publish as fast as its
 * connection carries, and every message it signs is decoded and judged here, an op written to LevelDB too.
 * Past its allowance, its messages are ignored (not applied, not relayed, counted as `over_allowance`).
 * What is ignored comes again: an op through world sync, a person with the next roster, a position with
 * the next tick. Not a lock claim or a high-five (sent once), which a node within its allowance never loses.
 *
 * Chain topics are not limited: a node catching up on a chain publishes thousands of blocks a second, and a
 * follower further behind than chain pull reaches would lose their events for good.
 */
import { RecentMap } from '../../common/recent-map.ts';
import { TokenBucket } from '../../common/token-bucket.ts';
import { CHAIN_TOPIC_PREFIX } from '../../protocol/gossip/index.ts';

/** A burst of this many seconds' allowance is taken at once (a world edited in bulk, a roster per world). */
export const BURST_SECONDS = 10;
/** A node's allowance over all its topics, in per-topic allowances: a node in many worlds is not many nodes. */
export const ALL_TOPICS_FACTOR = 5;
/** Allowances kept: the most recently used (`--trust all` lets anyone be many nodes). */
const MAX_TRACKED = 10_000;

export class TrustedAllowance {
  private readonly perSecond: number;
  private readonly buckets = new RecentMap<string, TokenBucket>(MAX_TRACKED);

  /** `perSecond`: messages a node may have taken per topic and second; 0 = no limit. */
  constructor(perSecond: number) {
    this.perSecond = perSecond;
  }

  /** Takes one message of `origin` on `topic` from its allowances; false when either is spent now. */
  take(origin: string, topic: string, now = performance.now()): boolean {
    if (this.perSecond === 0 || topic.startsWith(CHAIN_TOPIC_PREFIX)) return true;
    return (
      this.bucket(`${origin} ${topic}`, this.perSecond, now).take(now) &&
      this.bucket(origin, this.perSecond * ALL_TOPICS_FACTOR, now).take(now)
    );
  }

  private bucket(key: string, perSecond: number, now: number): TokenBucket {
    return this.buckets.touch(key, () => new TokenBucket(perSecond, perSecond * BURST_SECONDS, now));
  }
}

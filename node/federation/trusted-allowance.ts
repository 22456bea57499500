/**
 * A per-node, per-topic allowance for gossip signed by trusted nodes. A trusted node is taken at its word,
 * but a buggy or compromised one could publish as fast as its connection carries, and every message it
 * signs is decoded and judged here, an op written to LevelDB too. Past its allowance on a topic, its
 * messages there are ignored (not applied, not relayed, counted as `over_allowance`). Nothing is lost for
 * good: an op comes again through world sync, a person with the next roster, a position with the next
 * tick, a chain block through chain pull.
 */
import { RecentMap } from '../../common/recent-map.ts';
import { TokenBucket } from '../../common/token-bucket.ts';

/** A burst of this many seconds' allowance is taken at once (a world edited in bulk, a roster per world). */
export const BURST_SECONDS = 10;
/** Node-and-topic allowances kept: the most recently used (`--trust all` lets anyone be many nodes). */
const MAX_TRACKED = 10_000;

export class TrustedAllowance {
  private readonly perSecond: number;
  private readonly buckets = new RecentMap<string, TokenBucket>(MAX_TRACKED);

  /** `perSecond`: messages a node may have taken per topic and second; 0 = no limit. */
  constructor(perSecond: number) {
    this.perSecond = perSecond;
  }

  /** Takes one message of `origin` on `topic` from its allowance; false when none is left now. */
  take(origin: string, topic: string, now = performance.now()): boolean {
    if (this.perSecond === 0) return true;
    const bucket = this.buckets.touch(
      `${origin} ${topic}`,
      () => new TokenBucket(this.perSecond, this.perSecond * BURST_SECONDS, now),
    );
    return bucket.take(now);
  }
}

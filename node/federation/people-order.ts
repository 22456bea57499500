/**
 * The order of other nodes' joins, leaves and rosters (protocol/gossip/people.ts, `at`). Gossip keeps no
 * order between two messages of one node, and a message signed by a node can be sent again by anyone once
 * the mesh's seen-cache has forgotten it: without an order, a leave overtaken by the rejoin after it, or a
 * join sent again after its person left, showed the wrong people until the node's next roster.
 *
 * A receiver keeps, per world, person and node, the `at` of the last message it applied, and applies only
 * later ones. A message older than `maxAgeMs` is refused whole: no entry here is needed to know it is
 * stale, so entries may be dropped once that old (and past `maxEntries`, the stalest go first).
 */
import { RecentMap } from '../../common/recent-map.ts';

export interface PeopleOrderOptions {
  /** Older than this, a message is stale: nothing it says is news (a roster follows every few seconds). */
  maxAgeMs: number;
  /** Later than now by more than this, the sender's clock is wrong. */
  maxClockSkewMs: number;
  maxEntries: number;
}

export class PeopleOrder {
  private readonly options: PeopleOrderOptions;
  /** worldId!userId!node → the `at` of the last message applied */
  private readonly applied: RecentMap<string, { at: number }>;
  /** What this node stamps its own messages with: strictly increasing, even within one ms. */
  private lastStamp = 0;

  constructor(options: PeopleOrderOptions) {
    this.options = options;
    this.applied = new RecentMap(options.maxEntries);
  }

  /** The `at` of a message this node sends. */
  stamp(now = Date.now()): number {
    this.lastStamp = Math.max(now, this.lastStamp + 1);
    return this.lastStamp;
  }

  /** Why a message sent at `at` is refused whole, if it is (`undefined`: a node without `at`, taken as it comes). */
  refusal(at: number | undefined, now = Date.now()): 'stale' | 'clock_skew' | undefined {
    if (at === undefined) return undefined;
    if (at > now + this.options.maxClockSkewMs) return 'clock_skew';
    if (at < now - this.options.maxAgeMs) return 'stale';
    return undefined;
  }

  /** True when a message of `node` at `at` about the person is later than the last one applied. */
  isLater(worldId: string, userId: string, node: string, at: number | undefined): boolean {
    if (at === undefined) return true;
    const last = this.applied.get(key(worldId, userId, node));
    return last === undefined || at > last.at;
  }

  /** `isLater`, and if so the message is taken as applied. */
  advance(worldId: string, userId: string, node: string, at: number | undefined): boolean {
    if (!this.isLater(worldId, userId, node, at)) return false;
    if (at !== undefined) this.applied.touch(key(worldId, userId, node), () => ({ at })).at = at;
    return true;
  }
}

const key = (worldId: string, userId: string, node: string) => `${worldId}!${userId}!${node}`;

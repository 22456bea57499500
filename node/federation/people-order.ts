/**
 * The order of other nodes' joins, leaves and rosters (protocol/gossip/people.ts, `at`). Gossip keeps no
 * order between two messages of one node, and a message signed by a node can be sent again by anyone once
 * the mesh's seen-cache has forgotten it: without an order, a leave overtaken by the rejoin after it, or a
 * join sent again after its person left, showed the wrong people until the node's next roster.
 *
 * A receiver keeps, per node, world and person, the `at` of the last message it applied, and applies only
 * later ones. A message older than `maxAgeMs` is not news, whatever is kept: an entry that old is as good as
 * none, so a node whose clock stepped back (a restart on another clock) is out of order for that long at
 * most. Memory is bounded per node and in the number of nodes (the least recently heard go first); a
 * node's entries dropped only mean its messages are taken as they come, as from a node without `at`.
 *
 * Only within one node: a person who moves from one node to another is taken by the later node's join
 * whatever its `at` (clocks of two nodes are not compared).
 */
import { RecentMap } from '../../common/recent-map.ts';

export interface PeopleOrderOptions {
  /** Older than this, a message is not news (a roster follows every few seconds). */
  maxAgeMs: number;
  /** Later than now by more than this, the sender's clock is wrong. */
  maxClockSkewMs: number;
  /** Nodes whose order is kept. */
  maxNodes: number;
  /** People (over all worlds) whose order is kept per node. */
  maxPerNode: number;
}

/** Now in µs since 1970: `at` is in µs, so that a burst of messages never runs ahead of the clock. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export class PeopleOrder {
  private readonly options: PeopleOrderOptions;
  /** node → worldId!userId → the `at` of the last message applied */
  private readonly applied: RecentMap<string, RecentMap<string, { at: number }>>;
  /** What this node stamps its own messages with: strictly increasing. */
  private lastStamp = 0;

  constructor(options: PeopleOrderOptions) {
    this.options = options;
    this.applied = new RecentMap(options.maxNodes);
  }

  /** The `at` of a message this node sends. */
  stamp(now = nowMicros()): number {
    this.lastStamp = Math.max(now, this.lastStamp + 1);
    return this.lastStamp;
  }

  /**
   * What to make of a message sent at `at` as a whole: `clock_skew` (refused: the sender's clock is
   * ahead), `stale` (not news: ignored, as anyone may have sent it again), or undefined (judge it per
   * person; also for a message without `at`, from a node of an earlier version).
   */
  judge(at: number | undefined, now = nowMicros()): 'stale' | 'clock_skew' | undefined {
    if (at === undefined) return undefined;
    if (at > now + this.options.maxClockSkewMs * 1000) return 'clock_skew';
    if (at < now - this.options.maxAgeMs * 1000) return 'stale';
    return undefined;
  }

  /** True when a message of `node` at `at` about the person is later than the last one applied. */
  isLater(worldId: string, userId: string, node: string, at: number | undefined, now = nowMicros()): boolean {
    if (at === undefined) return true;
    const last = this.applied.get(node)?.get(key(worldId, userId));
    return last === undefined || at > last.at || last.at < now - this.options.maxAgeMs * 1000;
  }

  /** `isLater`, and if so the message is taken as applied. */
  advance(worldId: string, userId: string, node: string, at: number | undefined, now = nowMicros()): boolean {
    if (!this.isLater(worldId, userId, node, at, now)) return false;
    if (at === undefined) return true;
    const ofNode = this.applied.touch(node, () => new RecentMap(this.options.maxPerNode));
    ofNode.touch(key(worldId, userId), () => ({ at })).at = at;
    return true;
  }
}

const key = (worldId: string, userId: string) => `${worldId}!${userId}`;

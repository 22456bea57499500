/**
 * How many people of other nodes this node shows (people.ts): per node, at most MAX_PEOPLE_PER_NODE (far
 * more than one node serves, so a bound on what a buggy or hostile peer can make this node hold, not a
 * claim), and over all nodes at most `--max-remote-people` (under `--trust all` anyone can be many nodes).
 */
import type { Logger } from 'pino';
import type { HandlerVerdict } from './gossip.ts';

export const MAX_PEOPLE_PER_NODE = 20_000;

/** What a join or roster would change: who it adds, and whether they are new here. */
export interface Arrivals {
  /** People the node would show that it does not show now (some may be shown by another node). */
  added: number;
  /** Of those, people no node shows here now. */
  arriving: number;
  /** People of the node it lets go (a complete roster's). */
  leaving: number;
}

export class PeopleBounds {
  private readonly maxRemotePeople: number;
  private readonly log: Logger;
  /** node → how many people it shows here */
  private readonly ofNode = new Map<string, number>();
  /** The sum of `ofNode`. */
  private total = 0;
  /** When the full bound was last logged (once a minute at most). */
  private warnedFullAt = 0;

  constructor(options: { maxRemotePeople: number; logger: Logger }) {
    this.maxRemotePeople = options.maxRemotePeople;
    this.log = options.logger;
  }

  count(node: string, delta: 1 | -1): void {
    this.total += delta;
    const n = (this.ofNode.get(node) ?? 0) + delta;
    if (n > 0) this.ofNode.set(node, n);
    else this.ofNode.delete(node);
  }

  /**
   * Why `arrivals` from `node` are refused, if they are: past MAX_PEOPLE_PER_NODE for that node (rejected:
   * it claims more than any node serves), or everyone shown here past `maxRemotePeople` (ignored: others
   * filled it, not this node's fault).
   */
  judge(node: string, { added, arriving, leaving }: Arrivals): HandlerVerdict | undefined {
    if ((this.ofNode.get(node) ?? 0) - leaving + added > MAX_PEOPLE_PER_NODE)
      return { reject: 'too_many_people' };
    if (this.total - leaving + arriving <= this.maxRemotePeople) return undefined;
    const now = Date.now();
    if (now - this.warnedFullAt > 60_000) {
      this.warnedFullAt = now;
      this.log.warn(
        { bound: this.maxRemotePeople },
        'people of other nodes at --max-remote-people: newcomers are not shown until some leave',
      );
    }
    return 'ignore';
  }
}

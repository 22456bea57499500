/**
 * Which peers this node trusts, and what each peer has sent: accepted and rejected gossip by reason,
 * when it was last heard from, its round-trip time. One owner, read by the validators and the API.
 */
import { RecentMap } from '../../common/recent-map.ts';

export interface PeerCounters {
  received: number;
  rejected: number;
  /** Rejections by reason (`untrusted`, `bad_stamp`, `not_allowed`, …). */
  reasons: Record<string, number>;
  /** Messages of a trusted peer not taken though nothing is wrong with them (`over_allowance`). */
  ignored: number;
  ignoredReasons: Record<string, number>;
  lastSeenAt: number;
  latencyMs: number | null;
}

/**
 * Peers counted beyond those listed in `--trust` (untrusted ones knocking, or anyone under `all`): the most
 * recently counted are kept. A peer id costs nothing to make, so without a bound every new identity that
 * connects once would be held until the node stops.
 */
export const MAX_UNLISTED_PEERS = 1000;

export class Peers {
  private readonly trustAll: boolean;
  private readonly trusted: ReadonlySet<string>;
  /** Peers listed in `--trust`: kept for good. */
  private readonly counters = new Map<string, PeerCounters>();
  /** Everyone else, the most recently counted (MAX_UNLISTED_PEERS). */
  private readonly unlisted: RecentMap<string, PeerCounters>;
  /** Gossip accepted and rejected from any peer since start (/metrics). */
  readonly totals = { accepted: 0, rejected: 0, ignored: 0 };

  /** `spec`: comma-separated peer ids, `all`, or empty (nobody). */
  constructor(spec: string, maxUnlisted = MAX_UNLISTED_PEERS) {
    this.unlisted = new RecentMap(maxUnlisted);
    const ids = spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    this.trustAll = ids.length === 1 && ids[0] === 'all';
    this.trusted = new Set(this.trustAll ? [] : ids);
  }

  isTrusted(peerId: string): boolean {
    return this.trustAll || this.trusted.has(peerId);
  }

  accepted(peerId: string): void {
    const c = this.of(peerId);
    this.totals.accepted++;
    c.received++;
    c.lastSeenAt = Date.now();
  }

  rejected(peerId: string, reason: string): void {
    const c = this.of(peerId);
    this.totals.rejected++;
    c.rejected++;
    c.reasons[reason] = (c.reasons[reason] ?? 0) + 1;
  }

  ignored(peerId: string, reason: string): void {
    const c = this.of(peerId);
    this.totals.ignored++;
    c.ignored++;
    c.ignoredReasons[reason] = (c.ignoredReasons[reason] ?? 0) + 1;
  }

  latency(peerId: string, ms: number): void {
    this.of(peerId).latencyMs = ms;
  }

  /** A peer's counters (zeros for one never counted, or no longer: reading does not make an entry). */
  stats(peerId: string): PeerCounters {
    const c = this.counters.get(peerId) ?? this.unlisted.get(peerId) ?? fresh();
    return { ...c, reasons: { ...c.reasons }, ignoredReasons: { ...c.ignoredReasons } };
  }

  known(): string[] {
    return [...this.counters.keys(), ...this.unlisted.keys()];
  }

  private of(peerId: string): PeerCounters {
    if (this.trusted.has(peerId)) {
      let c = this.counters.get(peerId);
      if (!c) {
        c = fresh();
        this.counters.set(peerId, c);
      }
      return c;
    }
    return this.unlisted.touch(peerId, fresh);
  }
}

function fresh(): PeerCounters {
  return {
    received: 0,
    rejected: 0,
    reasons: {},
    ignored: 0,
    ignoredReasons: {},
    lastSeenAt: 0,
    latencyMs: null,
  };
}

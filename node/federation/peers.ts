/**
 * Which peers this node trusts, and what each peer has sent: accepted and rejected gossip by reason,
 * when it was last heard from, its round-trip time. One owner, read by the validators and the API.
 */
export interface PeerCounters {
  received: number;
  rejected: number;
  /** Rejections by reason (`untrusted`, `bad_stamp`, `not_allowed`, …). */
  reasons: Record<string, number>;
  lastSeenAt: number;
  latencyMs: number | null;
}

export class Peers {
  private readonly trustAll: boolean;
  private readonly trusted: ReadonlySet<string>;
  private readonly counters = new Map<string, PeerCounters>();
  /** Gossip accepted and rejected from any peer since start (/metrics). */
  readonly totals = { accepted: 0, rejected: 0 };

  /** `spec`: comma-separated peer ids, `all`, or empty (nobody). */
  constructor(spec: string) {
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

  latency(peerId: string, ms: number): void {
    this.of(peerId).latencyMs = ms;
  }

  stats(peerId: string): PeerCounters {
    return { ...this.of(peerId), reasons: { ...this.of(peerId).reasons } };
  }

  known(): string[] {
    return [...this.counters.keys()];
  }

  private of(peerId: string): PeerCounters {
    let c = this.counters.get(peerId);
    if (!c) {
      c = { received: 0, rejected: 0, reasons: {}, lastSeenAt: 0, latencyMs: null };
      this.counters.set(peerId, c);
    }
    return c;
  }
}

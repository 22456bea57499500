/**
 * The node's Prometheus metrics (GET /metrics with --metrics on). One registry per node (tests run several
 * nodes in one process). Hot-path counts (PosBus frames) live in plain typed arrays (node/posbus/traffic.ts)
 * and are copied into the registry only when it is scraped; the rest is read from the components then.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PosbusTraffic, TRAFFIC_TYPES } from '../posbus/traffic.ts';
import { collectProcessMetrics, type ProcessMetrics } from './process-metrics.ts';

/** What the registry reads at scrape time; each is asked only then. */
export interface MetricSources {
  sessions(): number;
  worlds(): number;
  assetBytes(): number;
  /** Blocks behind the chain head, per configured chain (null while not known yet). */
  harvesterLag(): Promise<{ chain: string; lag: number | null }[]>;
  connectedPeers(): number;
  /** Gossip messages from peers accepted and rejected by the validators, since start. */
  gossip(): { accepted: number; rejected: number; ignored: number };
}

const TICK_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class NodeMetrics {
  readonly registry = new Registry();
  readonly traffic = new PosbusTraffic();
  private readonly tick: Histogram;
  private readonly http: Histogram<'method' | 'route' | 'status'>;
  private sources: MetricSources | undefined;
  private readonly process: ProcessMetrics;

  constructor() {
    const registers = [this.registry];
    this.process = collectProcessMetrics(this.registry);
    this.tick = new Histogram({
      name: 'odyssey_world_tick_duration_seconds',
      help: "Duration of one world's position tick (encode and send to every member).",
      buckets: TICK_BUCKETS,
      registers,
    });
    this.http = new Histogram({
      name: 'odyssey_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern (`unmatched` for no route) and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    const source = () => this.sources;
    const traffic = this.traffic;
    const gauge = (name: string, help: string, read: (s: MetricSources) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = source();
          if (s) this.set(read(s));
        },
      });
    gauge('odyssey_posbus_sessions', 'Live PosBus sessions.', (s) => s.sessions());
    gauge('odyssey_worlds', 'Worlds this node holds (its own and mirrored).', (s) => s.worlds());
    gauge('odyssey_asset_bytes', 'Bytes of asset storage in use.', (s) => s.assetBytes());
    gauge('odyssey_federation_peers', 'Connected libp2p peers.', (s) => s.connectedPeers());
    new Gauge({
      name: 'odyssey_harvester_lag_blocks',
      help: 'Blocks between the chain head and the last block the harvester processed, per chain.',
      labelNames: ['chain'],
      registers,
      async collect() {
        const s = source();
        if (!s) return;
        this.reset();
        for (const { chain, lag } of await s.harvesterLag()) if (lag !== null) this.set({ chain }, lag);
      },
    });
    new Counter({
      name: 'odyssey_gossip_messages_total',
      help: 'Gossip messages from peers, by verdict of the validators (accepted, rejected; ignored: a trusted peer over its allowance).',
      labelNames: ['verdict'],
      registers,
      collect() {
        const s = source();
        if (!s) return;
        const { accepted, rejected, ignored } = s.gossip();
        this.reset();
        this.inc({ verdict: 'accepted' }, accepted);
        this.inc({ verdict: 'rejected' }, rejected);
        this.inc({ verdict: 'ignored' }, ignored);
      },
    });
    const byType = (name: string, help: string, counts: (direction: 'in' | 'out') => Float64Array) =>
      new Counter({
        name,
        help,
        labelNames: ['direction', 'type'],
        registers,
        collect() {
          this.reset();
          for (const direction of ['in', 'out'] as const) {
            const values = counts(direction);
            for (let slot = 0; slot < values.length; slot++)
              if (values[slot] > 0) this.inc({ direction, type: TRAFFIC_TYPES[slot] }, values[slot]);
          }
        },
      });
    byType('odyssey_posbus_frames_total', 'PosBus frames by direction and message type.', (d) =>
      d === 'in' ? traffic.framesIn : traffic.framesOut,
    );
    byType('odyssey_posbus_bytes_total', 'PosBus frame bytes by direction and message type.', (d) =>
      d === 'in' ? traffic.bytesIn : traffic.bytesOut,
    );
    const single = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    single(
      'odyssey_posbus_dropped_frames_total',
      'Position frames not sent to a backlogged client.',
      () => traffic.dropped,
    );
    single(
      'odyssey_posbus_rejected_frames_total',
      'Inbound PosBus frames refused (too big, over the rate, malformed, unexpected, refused).',
      () => traffic.rejected,
    );
  }

  /** Components are made after the metrics (they count into them); they are read from once set. */
  setSources(sources: MetricSources): void {
    this.sources = sources;
  }

  observeTick = (seconds: number): void => {
    this.tick.observe(seconds);
  };

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.http.observe({ method, route, status: String(status) }, seconds);
  }

  /** Stops what samples by itself (the process metrics' event-loop and GC watchers); the node's stop calls it. */
  stop(): void {
    this.process.stop();
  }

  /** The text exposition format, and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

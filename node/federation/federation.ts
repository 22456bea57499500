/**
 * Federation: one world lives on several nodes. For every world this node holds it gossips the ops made
 * here on the world's ops topic, checks and applies the ops other nodes made (op-rules.ts, then the same
 * `WorldStore.apply` as a local edit), serves and pulls world sync, and carries people across nodes
 * (people.ts). It announces itself on the directory topic, keeps its bootstrap peers connected, mirrors
 * worlds on demand (an admin, a teleport) or all of them (`--replicate all`) (mirrors.ts: a mirror not yet
 * pulled whole is withheld), and compares each held world with the trusted peers that hold it at start, on
 * their first announcement and every sync interval.
 */
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from 'pino';
import {
  DIRECTORY_TOPIC,
  decodeAnnouncement,
  decodeOp,
  encodeAnnouncement,
  encodeOp,
  type GeoPoint,
  isUuid,
  MAX_ANNOUNCED_WORLDS,
  type NodeAnnouncement,
  opsTopic,
} from '../../protocol/gossip/index.ts';
import type { Database } from '../../storage/db/database.ts';
import type { AttributeService } from '../attributes/attribute-service.ts';
import type { Access } from '../world/access.ts';
import { remoteUser } from '../world/remote-member.ts';
import type { WorldController } from '../world/world-controller.ts';
import type { WorldChange, WorldStore } from '../world/world-store.ts';
import { ChainPull } from './chain-pull.ts';
import { Cooldown } from './cooldown.ts';
import { BootstrapDialer, parseBootstrap } from './dialer.ts';
import { type FederatedWorld, type KnownNode, NodeDirectory } from './directory.ts';
import { Gossip, type HandlerVerdict, type TrafficCounters } from './gossip.ts';
import type { LoadMeter } from './load.ts';
import { Mirrors } from './mirrors.ts';
import { checkRemoteOp, type OpRuleContext } from './op-rules.ts';
import type { P2pHost } from './p2p-host.ts';
import { type PeerCounters, Peers } from './peers.ts';
import { FederatedPeople } from './people.ts';
import { type SharedChains, SharedChainTopics } from './shared-chains.ts';
import { WorldSync } from './world-sync.ts';

export interface FederationOptions {
  name: string;
  version: string;
  publicUrl: string;
  /** Announced for the nearest-node ranking ('' / undefined: not said). */
  region: string;
  geo: GeoPoint | undefined;
  trust: string;
  bootstrap: string;
  replicate: 'on-demand' | 'all';
  /** World ids to mirror from the start, comma-separated. */
  mirrors: string;
  syncIntervalMs: number;
  /** A world pull still running after this long is cut (WorldSync). */
  pullTimeoutMs: number;
  announceIntervalMs: number;
  silenceTimeoutMs: number;
  maxClockSkewMs: number;
  /** People of other nodes shown here at once, over all worlds and nodes. */
  maxRemotePeople: number;
  /** Gossip messages a trusted node may have taken per topic and second (0 = no limit). */
  peerGossipPerSecond: number;
  positionBatch: number;
  /** Largest gossip message, bytes. */
  maxMessageBytes: number;
  /** True when this node follows a chain itself. */
  followsChain: boolean;
}

export interface FederationComponents {
  host: P2pHost;
  /** Where the marks of mirrors not pulled whole yet are kept (incomplete-mirrors.ts). */
  db: Database;
  store: WorldStore;
  worlds: WorldController;
  access: Access;
  attributes: AttributeService;
  logger: Logger;
  /** This node's load as announced (sessions, capacity, CPU). */
  load: LoadMeter;
  /** The harvester's side of chain sharing; absent = no chain topics. */
  chains?: SharedChains;
}

export interface PeerView extends PeerCounters {
  peerId: string;
  trusted: boolean;
  connected: boolean;
  addresses: string[];
  name: string | null;
  url: string | null;
  worlds: string[];
}

const PING_INTERVAL_MS = 10_000;
/** Least time between two world syncs an ignored op starts, per peer and world. */
export const IGNORED_OP_SYNC_INTERVAL_MS = 5_000;
/** peer!world pairs whose ignored-op syncs are remembered at once (their cooldowns and trailing syncs). */
const MAX_TRAILING_SYNCS = 1024;

export class Federation {
  readonly peers: Peers;
  readonly directory: NodeDirectory;
  private readonly c: FederationComponents;
  private readonly options: FederationOptions;
  private readonly log: Logger;
  private readonly self: string;
  private readonly gossip: Gossip;
  private readonly sync: WorldSync;
  private readonly mirrors: Mirrors;
  private readonly people: FederatedPeople;
  private readonly dialer: BootstrapDialer;
  private readonly chainTopics: SharedChainTopics | undefined;
  private readonly chainPull: ChainPull | undefined;
  private readonly held = new Set<string>();
  private readonly syncing = new Map<string, Promise<void>>();
  /** peer!world whose ignored ops started a sync lately (IGNORED_OP_SYNC_INTERVAL_MS). */
  private readonly ignoredOpSyncs = new Cooldown(IGNORED_OP_SYNC_INTERVAL_MS, MAX_TRAILING_SYNCS);
  /** peer!world due one more sync when its interval ends (an op was ignored while it could not run). */
  private readonly trailingSyncs = new Map<string, NodeJS.Timeout>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private prepared = false;
  private readonly rules: OpRuleContext;
  private readonly onChange = (change: WorldChange) => this.publishChange(change);
  private lastAnnouncement: NodeAnnouncement | undefined;

  constructor(components: FederationComponents, options: FederationOptions) {
    const pubsub = components.host.services.pubsub;
    if (!pubsub) throw new Error('federation needs a host with gossipsub (p2p-host.ts `network`)');
    this.c = components;
    this.options = options;
    this.log = components.logger.child({ component: 'federation' });
    this.self = components.host.peerId.toString();
    this.peers = new Peers(options.trust);
    this.directory = new NodeDirectory({ silenceTimeoutMs: options.silenceTimeoutMs });
    this.gossip = new Gossip(
      { pubsub, peers: this.peers, logger: this.log },
      { trustedPerSecond: options.peerGossipPerSecond },
    );
    this.sync = new WorldSync(
      {
        host: components.host,
        store: components.store,
        peers: this.peers,
        logger: this.log,
        check: (op, sender) => {
          this.rules.now = Date.now();
          return checkRemoteOp(op, sender, components.store.peek(op.worldId), this.rules, 'sync');
        },
        withholds: (worldId) => this.mirrors.isIncomplete(worldId),
      },
      { pullTimeoutMs: options.pullTimeoutMs },
    );
    this.mirrors = new Mirrors({
      sync: this.sync,
      store: components.store,
      db: components.db,
      directory: this.directory,
      logger: this.log,
      usable: (peer) => this.usable(peer),
      hold: (worldId) => this.hold(worldId),
      release: (worldId) => this.release(worldId),
      announce: () => this.announce(),
    });
    this.people = new FederatedPeople(
      {
        gossip: this.gossip,
        worlds: components.worlds,
        clock: components.store.clock,
        logger: this.log,
      },
      {
        rosterIntervalMs: options.announceIntervalMs,
        silenceTimeoutMs: options.silenceTimeoutMs,
        batchSize: options.positionBatch,
        maxMessageBytes: options.maxMessageBytes,
        maxClockSkewMs: options.maxClockSkewMs,
        maxRemotePeople: options.maxRemotePeople,
      },
    );
    this.dialer = new BootstrapDialer(
      { host: components.host, logger: this.log },
      parseBootstrap(options.bootstrap),
    );
    this.chainTopics = components.chains
      ? new SharedChainTopics(
          { gossip: this.gossip, chains: components.chains, logger: this.log },
          { maxMessageBytes: options.maxMessageBytes },
        )
      : undefined;
    this.chainPull = components.chains
      ? new ChainPull(
          { host: components.host, peers: this.peers, chains: components.chains, logger: this.log },
          { maxMessageBytes: options.maxMessageBytes },
        )
      : undefined;
    this.rules = {
      access: components.access,
      worldOfObject: (objectId) => components.store.worldOfObject(objectId),
      mayWriteAttribute: (actor, objectId, pluginId, name) =>
        components.attributes.mayWriteObjectAttribute(remoteUser(actor, '', false), objectId, {
          pluginId,
          name,
        }),
      followsChain: options.followsChain,
      now: 0,
      maxClockSkewMs: options.maxClockSkewMs,
    };
  }

  get peerId(): string {
    return this.self;
  }

  /**
   * Reads the mirrors the last run left incomplete and answers the world controller's "is this world
   * whole here": before the node takes its first PosBus or HTTP client (composition/main.ts), so that a
   * partial world is never entered or shown while the rest starts. `start` runs it if it has not run.
   */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    this.prepared = true;
    await this.mirrors.start();
    this.c.worlds.setWorldSource({
      incomplete: (worldId) => this.mirrors.isIncomplete(worldId),
      fetch: (worldId) => this.mirror(worldId),
    });
  }

  async start(): Promise<void> {
    await this.prepare();
    await this.sync.start();
    this.people.start();
    this.gossip.on(DIRECTORY_TOPIC, (data, from) => this.onAnnouncement(data, from));
    this.chainTopics?.start();
    await this.chainPull?.start();
    for (const worldId of this.c.store.worldIds()) this.hold(worldId);
    this.c.store.on('change', this.onChange);
    this.dialer.start();
    const every = (ms: number, run: () => void) => {
      const t = setInterval(run, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.options.announceIntervalMs, () => this.announce());
    every(this.options.syncIntervalMs, () => this.syncAll());
    every(PING_INTERVAL_MS, () => void this.measureLatency());
    this.announce();
    for (const worldId of splitList(this.options.mirrors)) {
      void this.mirror(worldId).then((ok) => {
        if (!ok)
          this.log.warn({ worldId }, 'configured mirror not found yet; retried when a holder announces it');
      });
    }
    this.log.info(
      { peerId: this.self, listen: this.listenAddresses(), trust: this.options.trust || 'nobody' },
      'federation started',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const t of this.trailingSyncs.values()) clearTimeout(t);
    this.trailingSyncs.clear();
    this.dialer.stop();
    this.c.worlds.setWorldSource(undefined);
    this.c.store.off('change', this.onChange);
    this.people.stop();
    this.chainTopics?.stop();
    await this.chainPull?.stop();
    for (const topic of this.gossip.subscribed) this.gossip.off(topic);
    await this.sync.stop();
    await Promise.allSettled([...this.syncing.values(), this.mirrors.stop()]);
  }

  listenAddresses(): string[] {
    return this.c.host.getMultiaddrs().map(String);
  }

  /** Gossip accepted and rejected by the validators since start, from any peer. */
  gossipTotals(): { accepted: number; rejected: number; ignored: number } {
    return { ...this.peers.totals };
  }

  connectedPeers(): string[] {
    return this.c.host.getPeers().map(String);
  }

  /** Every peer heard of: connected, announced, or counted. */
  peerViews(): PeerView[] {
    const connected = new Set(this.connectedPeers());
    const nodes = new Map(this.directory.live().map((n) => [n.peerId, n]));
    const ids = new Set([...connected, ...nodes.keys(), ...this.peers.known()]);
    return [...ids].sort().map((peerId) => {
      const node = nodes.get(peerId);
      return {
        peerId,
        trusted: this.peers.isTrusted(peerId),
        connected: connected.has(peerId),
        addresses: this.c.host.getConnections(peerIdFromString(peerId)).map((c) => c.remoteAddr.toString()),
        name: node?.name ?? null,
        url: node?.url || null,
        worlds: node?.worlds.map((w) => w.id) ?? [],
        ...this.peers.stats(peerId),
      };
    });
  }

  /** Gossip published and received since start, per kind of topic (payload bytes, before gossipsub framing). */
  traffic(): TrafficCounters {
    return structuredClone(this.gossip.traffic);
  }

  /** The federation's worlds as announced by live peers (this node's own included). */
  federatedWorlds(): FederatedWorld[] {
    const worlds = new Map(this.directory.worlds().map((w) => [w.id, w]));
    for (const entry of this.ownWorlds()) {
      const known = worlds.get(entry.id);
      if (known) {
        known.nodes.unshift(this.self);
        known.online += entry.online;
      } else worlds.set(entry.id, { ...entry, nodes: [this.self] });
    }
    return [...worlds.values()];
  }

  /** This node (as it last announced itself, seen now) and every live node of the directory. */
  knownNodes(): KnownNode[] {
    const self = this.lastAnnouncement ?? this.ownAnnouncement();
    return [{ ...self, peerId: this.self, lastSeenAt: Date.now() }, ...this.directory.live()];
  }

  /**
   * Starts holding a world another node has: subscribes, then pulls it from a trusted peer that holds it.
   * True when the world is here, whole, afterwards (mirrors.ts). Concurrent calls for one world share one
   * attempt.
   */
  mirror(worldId: string): Promise<boolean> {
    return this.stopped ? Promise.resolve(false) : this.mirrors.mirror(worldId);
  }

  /** Stops following a world that could not be fetched. */
  private release(worldId: string): void {
    if (!this.held.delete(worldId)) return;
    this.gossip.off(opsTopic(worldId));
    this.people.release(worldId);
  }

  private hold(worldId: string): void {
    if (this.stopped || this.held.has(worldId)) return;
    this.held.add(worldId);
    this.gossip.on(opsTopic(worldId), (data, from) => this.onOp(worldId, data, from));
    this.people.hold(worldId);
  }

  private publishChange(change: WorldChange): void {
    // Only ops made here go out: a received op is never echoed as a new one.
    if (change.op.origin !== this.self) return;
    if (change.kind === 'object' && change.created && change.object.id === change.worldId) {
      this.hold(change.worldId);
    }
    if (this.held.has(change.worldId)) this.gossip.publish(opsTopic(change.worldId), encodeOp(change.op));
  }

  private async onOp(worldId: string, data: Uint8Array, from: string): Promise<HandlerVerdict> {
    const wire = decodeOp(data, this.options.maxMessageBytes);
    if (wire.worldId !== worldId) return { reject: 'wrong_topic' };
    this.rules.now = Date.now();
    const verdict = await checkRemoteOp(wire, from, this.c.store.peek(worldId), this.rules);
    if (verdict.verdict === 'accept') {
      await this.c.store.apply(verdict.op);
      return 'accept';
    }
    if (verdict.verdict === 'ignore') {
      // Not checkable yet (its parent or world is missing here): world sync brings the state later.
      this.log.debug({ worldId, from, reason: verdict.reason }, 'op ignored');
      if (verdict.reason !== 'chain_followed_here') this.syncAfterIgnoredOp(from, worldId);
      return 'ignore';
    }
    return { reject: verdict.reason };
  }

  private onAnnouncement(data: Uint8Array, from: string): HandlerVerdict {
    const announcement = decodeAnnouncement(data, this.options.maxMessageBytes);
    const now = Date.now();
    const { maxClockSkewMs, silenceTimeoutMs } = this.options;
    // A clock this far ahead would also make every later, honest announcement of the node look stale.
    if (announcement.at > now + maxClockSkewMs) return { reject: 'clock_skew' };
    // An old announcement replayed (anyone connected can relay a signed message once gossipsub forgot
    // it) would bring back a node that went silent, or a node's old URL and worlds. Not the signer's fault:
    // ignored, not held against it.
    const last = this.directory.lastAt(from, now);
    if (
      announcement.at < now - silenceTimeoutMs - maxClockSkewMs ||
      (last !== undefined && announcement.at <= last)
    ) {
      this.log.debug({ from, at: announcement.at, last }, 'stale announcement ignored');
      return 'ignore';
    }
    const first = this.directory.record(from, announcement, now);
    for (const world of announcement.worlds) {
      // An incomplete mirror that is held (a part is stored) is pulled again like any held world.
      if (this.held.has(world.id) && this.c.store.get(world.id)) {
        if (first) this.scheduleSync(from, world.id);
      } else if (this.options.replicate === 'all' || this.mirrors.isIncomplete(world.id)) {
        this.mirrors.inBackground(world.id);
      } else if (splitList(this.options.mirrors).includes(world.id)) {
        this.mirrors.inBackground(world.id);
      }
    }
    return 'accept';
  }

  private ownWorlds() {
    const online = new Map<string, number>();
    for (const room of this.c.worlds.roomsInUse()) {
      let n = 0;
      for (const _ of room.localPresences()) n++;
      online.set(room.worldId, n);
    }
    // Shaped to what every peer's decoder takes (protocol/gossip/directory.ts), so that one odd world never
    // gets the whole announcement refused.
    return [...this.held]
      .flatMap((id) => {
        const root = this.c.store.get(id)?.objects.get(id);
        // Part of a world announced as held would send teleports and other nodes' mirrors here for it.
        if (!root || this.mirrors.isIncomplete(id)) return [];
        const ownerId = isUuid(root.ownerId) ? root.ownerId : '';
        return [{ id, name: root.name.slice(0, 500), ownerId, online: online.get(id) ?? 0 }];
      })
      .slice(0, MAX_ANNOUNCED_WORLDS);
  }

  private ownAnnouncement(): NodeAnnouncement {
    const { region, geo } = this.options;
    return {
      name: this.options.name,
      url: this.options.publicUrl,
      version: this.options.version,
      ...(region ? { region } : {}),
      ...(geo ? { geo } : {}),
      load: this.c.load.sample(),
      worlds: this.ownWorlds(),
      at: Date.now(),
    };
  }

  private announce(): void {
    if (this.stopped) return;
    this.lastAnnouncement = this.ownAnnouncement();
    this.gossip.publish(DIRECTORY_TOPIC, encodeAnnouncement(this.lastAnnouncement));
  }

  /** Compares every held world with every live trusted peer that holds it. */
  private syncAll(): void {
    for (const node of this.directory.live()) {
      if (!this.usable(node.peerId)) continue;
      for (const w of node.worlds) if (this.held.has(w.id)) this.scheduleSync(node.peerId, w.id);
    }
  }

  /**
   * A world sync sends the whole world's digests and may stream every object back: one per ignored op
   * would let a peer buy that for the price of a message. At most one per peer and world every
   * IGNORED_OP_SYNC_INTERVAL_MS. An op ignored while one cannot start (too soon, or one is running and
   * may have read the peer's digests before the op was made) gets one more when the interval ends: it
   * waits that long, not for the periodic sync.
   */
  private syncAfterIgnoredOp(peer: string, worldId: string): void {
    const k = `${peer}!${worldId}`;
    if (this.ignoredOpSyncs.ready(k)) {
      const started = this.scheduleSync(peer, worldId);
      if (started !== 'running') {
        if (started === 'started') this.ignoredOpSyncs.mark(k);
        return;
      }
    }
    if (this.stopped || this.trailingSyncs.has(k) || this.trailingSyncs.size >= MAX_TRAILING_SYNCS) return;
    const timer = setTimeout(() => {
      this.trailingSyncs.delete(k);
      this.syncAfterIgnoredOp(peer, worldId);
    }, IGNORED_OP_SYNC_INTERVAL_MS);
    timer.unref();
    this.trailingSyncs.set(k, timer);
  }

  /** Starts a pull of `worldId` from `peer`, unless one is running or the peer cannot be asked. */
  private scheduleSync(peer: string, worldId: string): 'started' | 'running' | 'unusable' {
    const k = `${peer}!${worldId}`;
    if (this.syncing.has(k)) return 'running';
    if (this.stopped || !this.usable(peer)) return 'unusable';
    const run = this.mirrors
      .pull(peer, worldId)
      .then((r) => {
        if (r?.changed) this.log.info({ peer, worldId, changed: r.changed }, 'world caught up from peer');
      })
      .finally(() => this.syncing.delete(k));
    this.syncing.set(k, run);
    return 'started';
  }

  private usable(peer: string): boolean {
    if (!this.peers.isTrusted(peer)) return false;
    return this.c.host.getConnections(peerIdFromString(peer)).length > 0;
  }

  private async measureLatency(): Promise<void> {
    const ping = this.c.host.services.ping;
    if (!ping) return;
    await Promise.all(
      this.c.host.getPeers().map(async (peer: PeerId) => {
        try {
          this.peers.latency(peer.toString(), await ping.ping(peer, { signal: AbortSignal.timeout(5000) }));
        } catch {
          // An unanswered ping shows as a stale latency; the connection manager handles dead peers.
        }
      }),
    );
  }
}

function splitList(spec: string): string[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

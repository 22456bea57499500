/**
 * Composition: builds every component from the config, starts them in dependency order and stops them in
 * reverse. One HTTP server carries the API and the PosBus WebSocket.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { ApiEnv } from '../api/env.ts';
import { Harvester } from '../harvester/harvester.ts';
import { ActivityController } from '../node/activities/activity-controller.ts';
import { ActivityStore } from '../node/activities/activity-store.ts';
import { type Assets, startAssets } from '../node/assets/index.ts';
import { UploadQuotas } from '../node/assets/upload-quotas.ts';
import { AttributeService } from '../node/attributes/attribute-service.ts';
import { seedAttributeTypes } from '../node/attributes/seed.ts';
import { AttributeTypes, relaysToWorld } from '../node/attributes/types.ts';
import { TokenService } from '../node/auth/tokens.ts';
import type { NodeConfig } from '../node/config.ts';
import { Federation } from '../node/federation/federation.ts';
import { LoadMeter } from '../node/federation/load.ts';
import { createP2pHost, type P2pHost } from '../node/federation/p2p-host.ts';
import { Peers } from '../node/federation/peers.ts';
import { createLogger } from '../node/log.ts';
import type { NodeMetrics } from '../node/metrics/node-metrics.ts';
import { PosbusServer } from '../node/posbus/posbus-server.ts';
import { StakeController } from '../node/stakes/stake-controller.ts';
import { warnOfRenamedAdmins } from '../node/user/renamed-admins.ts';
import { UserStore } from '../node/user/user-store.ts';
import { Access } from '../node/world/access.ts';
import { HybridClock } from '../node/world/hlc.ts';
import { ObjectService } from '../node/world/objects.ts';
import { NodeOdysseyWorlds } from '../node/world/odyssey-worlds.ts';
import { seed } from '../node/world/seed.ts';
import { UserController } from '../node/world/user-controller.ts';
import { WorldController } from '../node/world/world-controller.ts';
import { WorldDirectory } from '../node/world/world-directory.ts';
import { WorldStore } from '../node/world/world-store.ts';
import { Database } from '../storage/db/database.ts';
import { federationSettings } from './federation-settings.ts';
import { gitCommit } from './git-commit.ts';
import { createHttpEdge } from './http-edge.ts';
import { startSummary } from './start-summary.ts';

export const VERSION: string = JSON.parse(
  await readFile(new URL('../package.json', import.meta.url), 'utf8'),
).version;

/** Largest gossip message (a world op carries at most one object's fields or one attribute value). */
const MAX_GOSSIP_BYTES = 1024 * 1024;

/** How long in-flight HTTP requests may take to finish when the node stops. */
const STOP_GRACE_MS = 5000;

export class OdysseyNode {
  readonly config: NodeConfig;
  readonly log: Logger;
  db!: Database;
  store!: WorldStore;
  users!: UserStore;
  worlds!: WorldController;
  access!: Access;
  objects!: ObjectService;
  worldDirectory!: WorldDirectory;
  tokens!: TokenService;
  attributes!: AttributeService;
  posbus!: PosbusServer;
  /** Chain adapters → chain state and Odyssey worlds; idle when no chain is configured. */
  harvester!: Harvester;
  /** Pending stakes reported by clients, confirmed by the harvester; stake activities. */
  stakes!: StakeController;
  /** Object storage: Helia on the node's libp2p host, asset records, pins. */
  assets!: Assets;
  /** The libp2p host: made first, shared by object storage and federation, stopped last. */
  host!: P2pHost;
  /** World ops, people and world sync across nodes; the directory of nodes. */
  federation!: Federation;
  /** The node object's id (a UUID made at first start): the parent of worlds on the wire, node attributes. */
  nodeId!: string;
  /** Prometheus metrics, with --metrics on. */
  metrics: NodeMetrics | undefined;
  /** The commit this node runs from, when known (/version). */
  gitCommit: string | undefined;
  /** The HTTP app the server runs (tests also call it without a server, through `app.request`). */
  app!: OpenAPIHono<ApiEnv>;
  private http!: Server;
  private guestSweep: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private started = false;

  constructor(config: NodeConfig, logger?: Logger) {
    this.config = config;
    this.log = logger ?? createLogger(config.logLevel, config.logFormat);
  }

  /** The bound HTTP address (useful with port 0). */
  get address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  get url(): string {
    const { address, port } = this.address;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  /**
   * Starts every component. If any step fails, what was already started is stopped again (listeners
   * closed, the LevelDB lock released) before the error is thrown, so a failed start leaves nothing behind.
   */
  async start(): Promise<void> {
    try {
      await this.startComponents();
    } catch (error) {
      await this.release();
      throw error;
    }
  }

  private async startComponents(): Promise<void> {
    const c = this.config;
    this.gitCommit = gitCommit(c.gitCommit);
    // prom-client is loaded only when metrics are on: an idle node does not carry it.
    this.metrics =
      c.metrics === 'on' ? new (await import('../node/metrics/node-metrics.ts')).NodeMetrics() : undefined;
    await mkdir(c.data, { recursive: true });
    this.db = new Database(`${c.data}/db`, { logger: this.log });
    await this.db.open();
    await warnOfRenamedAdmins(this.db, c.admins.split(','), this.log);
    let nodeId = (await this.db.meta.get('nodeId')) as string | undefined;
    if (!nodeId) {
      nodeId = randomUUID();
      await this.db.meta.put('nodeId', nodeId);
    }
    this.nodeId = nodeId;
    this.tokens = await TokenService.open(c.data, c.tokenTtlSeconds);
    this.host = await createP2pHost({
      keyFile: `${c.data}/peer-key`,
      name: 'odyssey-node',
      version: VERSION,
      network: {
        host: c.p2pHost || c.host,
        tcpPort: c.p2pPort,
        wsPort: c.p2pWsPort,
        maxMessageBytes: MAX_GOSSIP_BYTES,
      },
    });
    // Ops are stamped with the peer id: the origin of an op is the node that signs its gossip.
    this.store = new WorldStore({ db: this.db, clock: new HybridClock(this.host.peerId.toString()) });
    await this.store.start();
    if (await seed(this.db, this.store)) this.log.info('seeded the default world');
    const trust = new Peers(c.trust);
    this.assets = await startAssets({
      config: c,
      db: this.db,
      worlds: this.store,
      logger: this.log,
      host: this.host,
      // The same trust as federation's: bitswap and asset records with these peers only.
      isTrusted: (peerId) => trust.isTrusted(peerId),
    });
    this.users = new UserStore({ db: this.db });
    this.access = new Access({ db: this.db, store: this.store, admins: c.admins.split(',') });
    await this.access.start();
    await seedAttributeTypes(this.db);
    const attributeTypes = await AttributeTypes.load(this.db);
    this.worlds = new WorldController(
      {
        store: this.store,
        users: this.users,
        access: this.access,
        logger: this.log,
        nodeId,
        relaysAttribute: (pluginId, name) => relaysToWorld(attributeTypes.get(pluginId, name)?.options ?? {}),
        observeTick: this.metrics?.observeTick,
      },
      {
        tickMs: c.tickMs,
        refreshMs: c.refreshMs,
        batchSize: c.positionBatch,
        interestCellSize: c.interestCellSize,
        entryBatchSize: 100,
      },
    );
    this.worlds.start();
    this.objects = new ObjectService({
      store: this.store,
      access: this.access,
      users: this.users,
      worlds: this.worlds,
      logger: this.log,
      config: { maxChildrenPerObject: c.maxChildrenPerObject },
    });
    this.worldDirectory = new WorldDirectory({
      store: this.store,
      access: this.access,
      users: this.users,
      worlds: this.worlds,
      online: () => this.posbus.onlineUsers(),
      // The harvester is built after the directory (it creates worlds through it).
      stakes: (worldId) => this.harvester.queries.worldStakes(worldId),
      logger: this.log,
      config: { worldCreation: c.worldCreation },
    });
    this.harvester = new Harvester({
      db: this.db,
      logger: this.log,
      chains: c.chains,
      chainQuorum: c.chainQuorum,
      worlds: new NodeOdysseyWorlds({
        users: this.users,
        directory: this.worldDirectory,
        store: this.store,
        logger: this.log,
      }),
    });
    const userController = new UserController({ worlds: this.worlds });
    const activityStore = new ActivityStore({ db: this.db });
    await activityStore.start();
    const activities = new ActivityController({
      activities: activityStore,
      store: this.store,
      worlds: this.worlds,
      access: this.access,
    });
    this.stakes = new StakeController({
      db: this.db,
      users: this.users,
      store: this.store,
      worlds: this.worlds,
      activities,
      harvester: this.harvester,
      logger: this.log,
      config: { pendingStakeTtlMs: c.pendingStakeTtlMs },
    });
    this.stakes.start();
    this.attributes = new AttributeService({
      db: this.db,
      store: this.store,
      users: this.users,
      access: this.access,
      types: attributeTypes,
      nodeId,
      worlds: this.worlds,
    });

    this.federation = new Federation(
      {
        host: this.host,
        db: this.db,
        store: this.store,
        worlds: this.worlds,
        access: this.access,
        attributes: this.attributes,
        logger: this.log,
        // The PosBus server is made after federation; the meter asks it only once announcing starts.
        load: new LoadMeter(() => this.posbus?.sessionCount ?? 0, c.maxSessions),
        chains: this.harvester,
      },
      federationSettings(c, VERSION, MAX_GOSSIP_BYTES),
    );

    ({ http: this.http, app: this.app } = createHttpEdge(this, {
      version: VERSION,
      activities,
      uploadQuotas: new UploadQuotas({
        store: this.assets.store,
        isAdmin: (user) => this.access.isNodeAdmin(user),
        config: c,
      }),
    }));
    this.posbus = new PosbusServer(
      {
        http: this.http,
        tokens: this.tokens,
        users: this.users,
        worlds: this.worlds,
        userController,
        stakes: this.stakes,
        logger: this.log,
        traffic: this.metrics?.traffic,
      },
      c,
    );
    this.metrics?.setSources({
      sessions: () => this.posbus.sessionCount,
      worlds: () => this.store.worldIds().length,
      assetBytes: () => this.assets.fetcher.usage.view().usedBytes,
      harvesterLag: async () => this.harvester.lagByChain(),
      connectedPeers: () => this.federation.connectedPeers().length,
      gossip: () => this.federation.gossipTotals(),
    });
    // Before the first client: a mirror the last run left incomplete must not be entered or shown meanwhile.
    await this.federation.prepare();
    this.posbus.start();
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(c.port, c.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.guestSweep = setInterval(
      () => {
        // One sweep at a time, its failure logged (never an unhandled rejection), awaited by stop().
        this.sweeping ??= this.sweepGuests()
          .catch((error) => this.log.error({ err: error }, 'guest sweep failed'))
          .then(() => {
            this.sweeping = undefined;
          });
      },
      Math.max(1000, Math.min(c.guestTtlMs, 60_000)),
    );
    this.guestSweep.unref();
    await this.harvester.start();
    await this.federation.start();
    this.started = true;
    this.log.info(
      {
        url: this.url,
        nodeId,
        data: c.data,
        version: VERSION,
        ...startSummary(c, {
          peerId: this.federation.peerId,
          listen: this.federation.listenAddresses(),
          gitCommit: this.gitCommit,
        }),
      },
      'odyssey node started',
    );
  }

  /** After a failed start: stops whatever was started, in reverse order; one failing step does not stop the rest. */
  private async release(): Promise<void> {
    const attempt = async (what: string, step: () => unknown) => {
      try {
        await step();
      } catch (error) {
        this.log.debug({ err: error, what }, 'cleanup after a failed start');
      }
    };
    clearInterval(this.guestSweep);
    await attempt('http', () => {
      if (!this.http?.listening) return;
      const closed = new Promise((resolve) => this.http.close(resolve));
      this.http.closeAllConnections();
      return closed;
    });
    await attempt('posbus', () => this.posbus?.stop());
    await attempt('federation', () => this.federation?.stop());
    await attempt('harvester', () => this.harvester?.stop());
    await attempt('stakes', () => this.stakes?.stop());
    await attempt('worlds', () => this.worlds?.stop());
    await attempt('store', () => this.store?.flush());
    await attempt('assets', () => this.assets?.stop());
    await attempt('p2p host', () => this.host?.stop());
    await attempt('database', () => this.db?.close());
    this.metrics?.stop();
  }

  /** Guests whose last session ended more than guestTtlMs ago are deleted, as the original did. */
  async sweepGuests(): Promise<number> {
    const removed = await this.users.removeIdleGuests(
      Date.now() - this.config.guestTtlMs,
      this.posbus.onlineUsers(),
    );
    if (removed) this.log.info({ removed }, 'removed idle guests');
    return removed;
  }

  /**
   * Stops accepting (HTTP and PosBus), tells sessions, saves positions, lets in-flight requests finish,
   * stops the chain followers, then flushes the world store and closes storage.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.guestSweep);
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    await this.posbus.stop();
    // Requests already being handled may still write; give them a moment, then cut what is left.
    const grace = setTimeout(() => this.http.closeAllConnections(), STOP_GRACE_MS);
    await closed;
    clearTimeout(grace);
    await this.sweeping;
    // The harvester first: a block it commits while stopping is still published to peers.
    await this.harvester.stop();
    await this.federation.stop();
    await this.stakes.stop();
    await this.worlds.stop();
    await this.store.flush();
    await this.assets.stop();
    await this.host.stop();
    await this.db.close();
    this.metrics?.stop();
    this.log.info('odyssey node stopped');
  }
}

/** What every route module gets: the node's components and the request-scoped variables. */
import type { Logger } from 'pino';
import type { Harvester } from '../harvester/harvester.ts';
import type { ActivityController } from '../node/activities/activity-controller.ts';
import type { AssetFetcher } from '../node/assets/asset-fetcher.ts';
import type { AssetKeeper } from '../node/assets/asset-keeper.ts';
import type { AssetStore } from '../node/assets/storage.ts';
import type { UploadQuotas } from '../node/assets/upload-quotas.ts';
import type { AttributeService } from '../node/attributes/attribute-service.ts';
import type { TokenService } from '../node/auth/tokens.ts';
import type { NodeConfig } from '../node/config.ts';
import type { Federation } from '../node/federation/federation.ts';
import type { NodeMetrics } from '../node/metrics/node-metrics.ts';
import type { PosbusServer } from '../node/posbus/posbus-server.ts';
import type { StakeController } from '../node/stakes/stake-controller.ts';
import type { UserRecord, UserStore } from '../node/user/user-store.ts';
import type { Access } from '../node/world/access.ts';
import type { ObjectService } from '../node/world/objects.ts';
import type { WorldDirectory } from '../node/world/world-directory.ts';
import type { WorldStore } from '../node/world/world-store.ts';

export interface ApiComponents {
  config: NodeConfig;
  version: string;
  startedAt: number;
  nodeId: string;
  tokens: TokenService;
  users: UserStore;
  /**
   * Which worlds and objects exist (a route's 404s). Lookups only: every change to a world goes through
   * a service (`objects`, `worldDirectory`, `attributes`), which checks it and makes the op.
   */
  store: Pick<WorldStore, 'get' | 'findObject'>;
  /** Whether the caller administers the node (admin-only routes); object admins are the services' concern. */
  access: Pick<Access, 'isNodeAdmin'>;
  /** Objects on behalf of a user: what the objects routes call. */
  objects: ObjectService;
  /** Worlds on behalf of a user: what the worlds routes call. */
  worldDirectory: WorldDirectory;
  /** Timeline activities and the newsfeed. */
  activities: ActivityController;
  /** Attribute values of every family, permission-checked; plugins and attribute types. */
  attributes: AttributeService;
  /** Object storage: uploads, downloads, the IPFS gateway. */
  assets: AssetStore;
  /** Bytes each user may have stored through uploads, and their usage. */
  uploadQuotas: UploadQuotas;
  /** Pins by reference and garbage collection of assets. */
  assetKeeper: AssetKeeper;
  /** Fetches assets this node lacks from trusted peers (downloads of them wait at most its timeout). */
  assetFetcher: AssetFetcher;
  /** Chain state and the harvester's status. */
  harvester: Harvester;
  /** Pending stakes (POST /users/me/stakes) and stake comments. */
  stakes: StakeController;
  /** Peers, the federation's worlds, mirroring. */
  federation: Federation;
  /** The PosBus server (created after the API): who is online. */
  posbus(): PosbusServer;
  logger: Logger;
  /** Prometheus metrics; present when --metrics is on. */
  metrics?: NodeMetrics;
  /** The commit the node runs from (/version), when known. */
  gitCommit?: string;
  /** Live counters for /health. */
  stats(): {
    worlds: number;
    sessions: number;
    peerId: string;
    p2p: { listen: string[]; peers: string[] };
    storage: { usedBytes: number; quotaBytes: number; overQuota: boolean };
  };
}

export interface ApiEnv {
  Variables: {
    /** The caller, set by `requireUser`. */
    user: UserRecord;
    /** The client's address (behind a trusted proxy, from X-Forwarded-For), set for every request. */
    clientAddress: string;
  };
}

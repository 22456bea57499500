/**
 * The node's HTTP edge: the API app over the node's components, served by one Node HTTP server (which
 * the PosBus WebSocket shares). Built from the started components, so the routes get live objects.
 */
import type { Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import { createApp } from '../api/app.ts';
import { withDirectBodies } from '../api/direct-body.ts';
import type { ApiComponents, ApiEnv } from '../api/env.ts';
import type { Harvester } from '../harvester/harvester.ts';
import type { Assets } from '../node/assets/index.ts';
import type { AttributeService } from '../node/attributes/attribute-service.ts';
import type { TokenService } from '../node/auth/tokens.ts';
import type { NodeConfig } from '../node/config.ts';
import type { Federation } from '../node/federation/federation.ts';
import { parseTrustProxy } from '../node/http/client-address.ts';
import { createHttpServer } from '../node/http/http-server.ts';
import type { NodeMetrics } from '../node/metrics/node-metrics.ts';
import type { PosbusServer } from '../node/posbus/posbus-server.ts';
import type { StakeController } from '../node/stakes/stake-controller.ts';
import type { UserStore } from '../node/user/user-store.ts';
import type { Access } from '../node/world/access.ts';
import type { ObjectService } from '../node/world/objects.ts';
import type { WorldDirectory } from '../node/world/world-directory.ts';
import type { WorldStore } from '../node/world/world-store.ts';

/** The started components the edge serves (an OdysseyNode while it starts). */
export interface EdgeParts {
  readonly config: NodeConfig;
  readonly log: Logger;
  readonly nodeId: string;
  readonly tokens: TokenService;
  readonly users: UserStore;
  readonly store: WorldStore;
  readonly access: Access;
  readonly objects: ObjectService;
  readonly worldDirectory: WorldDirectory;
  readonly attributes: AttributeService;
  readonly assets: Assets;
  readonly harvester: Harvester;
  readonly stakes: StakeController;
  readonly federation: Federation;
  /** Made after the edge (it listens on the edge's server): asked for at request time. */
  readonly posbus: PosbusServer;
  readonly metrics: NodeMetrics | undefined;
  readonly gitCommit: string | undefined;
}

/**
 * The app and its server. Local asset downloads are written straight to the Node response
 * (`withDirectBodies`, api/direct-body.ts) once the app and its middleware have answered.
 */
export function createHttpEdge(
  node: EdgeParts,
  extra: Pick<ApiComponents, 'version' | 'activities' | 'uploadQuotas'>,
): { http: Server; app: OpenAPIHono<ApiEnv> } {
  const c = node.config;
  const app = createApp({
    ...extra,
    config: c,
    startedAt: Date.now(),
    nodeId: node.nodeId,
    tokens: node.tokens,
    users: node.users,
    store: node.store,
    access: node.access,
    objects: node.objects,
    worldDirectory: node.worldDirectory,
    attributes: node.attributes,
    assets: node.assets.store,
    assetKeeper: node.assets.keeper,
    assetFetcher: node.assets.fetcher,
    harvester: node.harvester,
    stakes: node.stakes,
    federation: node.federation,
    posbus: () => node.posbus,
    logger: node.log,
    metrics: node.metrics,
    gitCommit: node.gitCommit,
    stats: () => ({
      worlds: node.store.worldIds().length,
      sessions: node.posbus.sessionCount,
      peerId: node.federation.peerId,
      p2p: { listen: node.federation.listenAddresses(), peers: node.federation.connectedPeers() },
      storage: node.assets.fetcher.usage.view(),
      assetLookups: { ...node.assets.fetcher.lookupStats },
    }),
  });
  const http = createHttpServer(
    getRequestListener(withDirectBodies(app.fetch)),
    {
      headersTimeoutMs: c.httpHeadersTimeoutMs,
      idleBodyTimeoutMs: c.httpIdleBodyTimeoutMs,
      maxConnectionsPerAddress: c.maxConnectionsPerAddress,
    },
    parseTrustProxy(c.trustProxy),
    node.log,
  );
  return { http, app };
}

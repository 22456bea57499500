/** The dashboard's public read: node, worlds, assets and harvester facts in one document. */
import { createRoute, z } from '@hono/zod-openapi';
import { NodeOverview } from '../../node/overview/node-overview.ts';
import type { ApiComponents } from '../env.ts';
import { json, routes } from '../validation.ts';

/** Public: every fact here is a count or already public through /health, /nodes and the worlds routes. */
export const OVERVIEW_PUBLIC = /^\/node\/overview$/;

const overviewSchema = z
  .object({
    node: z.object({
      name: z.string(),
      version: z.string(),
      uptimeSeconds: z.number().int(),
      peerId: z.string(),
      peers: z.number().int(),
      sessions: z.number().int(),
      cpuPercent: z.number(),
      rssBytes: z.number().int(),
      dataDirBytes: z.number().int(),
    }),
    worlds: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        online: z.number().int(),
        hosted: z.boolean(),
        nodes: z.number().int(),
      }),
    ),
    assets: z.object({
      count: z.number().int(),
      bytes: z.number().int(),
      pinned: z.number().int(),
      unpinned: z.number().int(),
      recent: z.array(
        z.object({
          cid: z.string(),
          name: z.string(),
          kind: z.string(),
          mime: z.string(),
          size: z.number().int(),
          createdAt: z.number().int(),
          pinned: z.boolean(),
        }),
      ),
    }),
    harvester: z.object({
      enabled: z.boolean(),
      chains: z.array(
        z.object({
          name: z.string(),
          family: z.string(),
          health: z.string(),
          head: z.number().nullable(),
          processed: z.number().nullable(),
          lag: z.number().nullable(),
          events: z.number().int(),
          reorgs: z.number().int(),
          lastError: z.string().nullable(),
        }),
      ),
    }),
  })
  .openapi('NodeOverview');

export function overviewRoutes(c: ApiComponents) {
  const app = routes();
  const overview = new NodeOverview({
    name: c.config.name,
    version: c.version,
    startedAt: c.startedAt,
    dataDir: c.config.data,
    peerId: () => c.federation.peerId,
    connectedPeers: () => c.federation.connectedPeers(),
    sessions: () => c.posbus().sessionCount,
    worlds: () => c.federation.federatedWorlds(),
    holds: (id) => c.worldDirectory.holds(id),
    assets: c.assets,
    harvester: c.harvester,
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/node/overview',
      tags: ['node'],
      summary:
        "The dashboard's facts: node (uptime, sessions, CPU, RSS, data dir), worlds with online users, assets, harvester per chain (public)",
      responses: { 200: { description: 'overview', ...json(overviewSchema) } },
    }),
    async (ctx) => ctx.json(await overview.read(), 200),
  );
  return app;
}

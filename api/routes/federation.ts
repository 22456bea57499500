/** Federation: the peers this node knows (admins), mirroring a world (admins), the federation's worlds. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { forbidden, notFound } from '../../common/errors.ts';
import type { ApiComponents, ApiEnv } from '../env.ts';
import { bearer, errors, json, routes, umid } from '../validation.ts';

const peerSchema = z
  .object({
    peerId: z.string(),
    trusted: z.boolean(),
    connected: z.boolean(),
    addresses: z.array(z.string()),
    name: z.string().nullable(),
    url: z.string().nullable(),
    worlds: z.array(z.string()),
    latencyMs: z.number().nullable(),
    received: z.number().int(),
    rejected: z.number().int(),
    reasons: z.record(z.string(), z.number().int()),
    ignored: z.number().int(),
    ignoredReasons: z.record(z.string(), z.number().int()),
    lastSeenAt: z.number().int(),
  })
  .openapi('FederationPeer');

const worldSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    ownerId: z.string(),
    online: z.number().int(),
    nodes: z.array(z.string()),
  })
  .openapi('FederatedWorld');

export function federationRoutes(c: ApiComponents) {
  const app = routes();
  const requireAdmin = (ctx: Context<ApiEnv>) => {
    if (!c.access.isNodeAdmin(ctx.get('user'))) throw forbidden('not_admin', 'only node admins may do this');
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/federation/peers',
      tags: ['federation'],
      summary: 'Peers: trust, connection, latency, gossip received and rejected by reason (node admins)',
      security: bearer,
      responses: { 200: { description: 'peers', ...json(z.array(peerSchema)) }, ...errors(401, 403) },
    }),
    (ctx) => {
      requireAdmin(ctx);
      return ctx.json(c.federation.peerViews(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/federation/traffic',
      tags: ['federation'],
      summary:
        'Gossip messages and payload bytes sent and received since start, per kind of topic (node admins)',
      security: bearer,
      responses: {
        200: {
          description: 'traffic',
          ...json(
            z.record(
              z.string(),
              z.object({
                sent: z.number().int(),
                sentBytes: z.number().int(),
                received: z.number().int(),
                receivedBytes: z.number().int(),
              }),
            ),
          ),
        },
        ...errors(401, 403),
      },
    }),
    (ctx) => {
      requireAdmin(ctx);
      return ctx.json(c.federation.traffic(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/federation/worlds',
      tags: ['federation'],
      summary: 'Every world the federation announces, with the nodes (peer ids) that hold it',
      security: bearer,
      responses: { 200: { description: 'worlds', ...json(z.array(worldSchema)) }, ...errors(401) },
    }),
    (ctx) => ctx.json(c.federation.federatedWorlds(), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/federation/mirrors',
      tags: ['federation'],
      summary:
        'Mirror a world another node holds: fetched from a trusted peer, then kept in step (node admins)',
      security: bearer,
      request: { body: { content: { 'application/json': { schema: z.object({ world_id: umid }) } } } },
      responses: {
        200: {
          description: 'the world is held here',
          ...json(z.object({ world_id: z.string(), held: z.literal(true) })),
        },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      requireAdmin(ctx);
      const { world_id } = ctx.req.valid('json');
      if (!(await c.federation.mirror(world_id))) {
        throw notFound('world_not_found', 'no trusted, connected peer holds this world');
      }
      return ctx.json({ world_id, held: true as const }, 200);
    },
  );
  return app;
}

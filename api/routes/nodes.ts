/**
 * The node directory for browsers (public: what nodes announce is public information): every node this
 * one knows, and for one world the candidate nodes ranked for the caller (node/federation/nearest.ts),
 * so that a client can probe the best few and connect to the fastest.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { notFound } from '../../common/errors.ts';
import { parseGeo } from '../../node/federation/geo.ts';
import { rankNodes, withFree } from '../../node/federation/nearest.ts';
import type { ApiComponents } from '../env.ts';
import { errors, json, limitQuery, routes, umid } from '../validation.ts';

const geoSchema = z.object({ lat: z.number(), lon: z.number() }).openapi('GeoPoint');
const loadSchema = z
  .object({
    sessions: z.number().int(),
    maxSessions: z.number().int(),
    free: z.number().int(),
    cpu: z.number().openapi({ description: "the node process's CPU use, in cores" }),
  })
  .openapi('NodeLoad');

const nodeSchema = z
  .object({
    peerId: z.string(),
    self: z.boolean(),
    name: z.string(),
    url: z.string().nullable(),
    region: z.string().nullable(),
    geo: geoSchema.nullable(),
    load: loadSchema.nullable(),
    version: z.string(),
    worlds: z.number().int(),
    lastSeenAt: z.number().int(),
  })
  .openapi('DirectoryNode');

const candidateSchema = z
  .object({
    peerId: z.string(),
    name: z.string(),
    url: z.string(),
    region: z.string().nullable(),
    geo: geoSchema.nullable(),
    load: loadSchema.nullable(),
    hostsWorld: z.boolean(),
    distanceKm: z.number().nullable(),
    reason: z.string(),
  })
  .openapi('NearestCandidate');

const nearestSchema = z
  .object({
    world: z.string(),
    basis: z.enum(['geo', 'region', 'load']),
    client: z.object({ address: z.string(), geo: geoSchema.nullable(), region: z.string().nullable() }),
    candidates: z.array(candidateSchema),
    leftOut: z.array(
      z.object({
        peerId: z.string(),
        name: z.string(),
        reason: z.enum(['no_public_url', 'not_a_browser_url']),
      }),
    ),
  })
  .openapi('NearestNodes');

export function nodeRoutes(c: ApiComponents) {
  const app = routes();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/nodes',
      tags: ['nodes'],
      summary:
        'The nodes of the federation this node knows (itself included): URL, region, geo, load, worlds',
      responses: { 200: { description: 'nodes', ...json(z.array(nodeSchema)) } },
    }),
    (ctx) => {
      const self = c.federation.peerId;
      const nodes = c.federation.knownNodes().map((n) => ({
        peerId: n.peerId,
        self: n.peerId === self,
        name: n.name,
        url: n.url || null,
        region: n.region ?? null,
        geo: n.geo ?? null,
        load: withFree(n.load),
        version: n.version,
        worlds: n.worlds.length,
        lastSeenAt: n.lastSeenAt,
      }));
      return ctx.json(nodes, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/nodes/nearest',
      tags: ['nodes'],
      summary:
        'Candidate nodes for a world, best first for the caller (geo, else region, then load), with the reason for each',
      request: { query: z.object({ world: umid, limit: limitQuery(20, 5) }) },
      responses: {
        200: { description: 'candidates, best first', ...json(nearestSchema) },
        ...errors(400, 404),
      },
    }),
    (ctx) => {
      const { world, limit } = ctx.req.valid('query');
      const nodes = c.federation.knownNodes();
      const known = c.store.get(world) || nodes.some((n) => n.worlds.some((w) => w.id === world));
      if (!known) throw notFound('world_not_found', 'no node of the federation announces this world');
      // What the operator's reverse proxy says about the caller (see README, "Nearest node"). Believed as
      // sent: a caller who lies about itself only changes its own answer.
      const { geoHeader, regionHeader } = c.config;
      const geo = geoHeader ? parseGeo(ctx.req.header(geoHeader)) : undefined;
      const region = (regionHeader && ctx.req.header(regionHeader)?.trim().slice(0, 64)) || undefined;
      const ranking = rankNodes(nodes, world, { geo, region });
      return ctx.json(
        {
          world,
          basis: ranking.basis,
          client: { address: ctx.get('clientAddress'), geo: geo ?? null, region: region ?? null },
          candidates: ranking.candidates.slice(0, limit),
          leftOut: ranking.leftOut,
        },
        200,
      );
    },
  );
  return app;
}

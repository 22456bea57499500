/**
 * Worlds: lists and details on the original's shapes, who is in a world now, a user's worlds, and two
 * things the original lacked: creating a world, and a PATCH that actually edits (admins of the world only).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { notFound } from '../../common/errors.ts';
import { userDto, userSchema } from '../dto.ts';
import type { ApiComponents } from '../env.ts';
import { byUser, rateLimit } from '../middleware/rate-limit.ts';
import { bearer, errors, json, limitQuery, routes, umidParam } from '../validation.ts';
import {
  ownedWorld,
  ownedWorldSchema,
  worldDetails,
  worldDetailsSchema,
  worldSummary,
  worldSummarySchema,
} from '../world-dto.ts';

const worldName = z.string().trim().min(1).max(100);
const description = z.string().max(2000);
/** http(s) only: the link is shown to every visitor, so no `javascript:` and the like. '' clears it. */
const websiteLink = z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(500)]);

export function worldRoutes(c: ApiComponents) {
  const app = routes();
  const s = c.worldDirectory;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/worlds',
      tags: ['worlds'],
      summary:
        "Worlds by creation time: this node's, then those other nodes of the federation hold (any of them can be entered here); `nodes` are the peer ids that hold each",
      security: bearer,
      request: {
        query: z.object({ sort: z.enum(['ASC', 'DESC']).default('DESC'), limit: limitQuery(100, 100) }),
      },
      responses: {
        200: {
          description: 'worlds',
          ...json(
            z.array(
              worldSummarySchema.extend({ nodes: z.array(z.string()) }).openapi('FederatedWorldSummary'),
            ),
          ),
        },
        ...errors(400, 401),
      },
    }),
    async (ctx) => {
      const { sort, limit } = ctx.req.valid('query');
      const worlds = await s.listWorlds({ ascending: sort === 'ASC', limit });
      const federated = new Map(c.federation.federatedWorlds().map((w) => [w.id, w]));
      const local = worlds.map((v) => ({
        ...worldSummary(v),
        nodes: federated.get(v.world.id)?.nodes ?? [],
      }));
      const held = new Set(local.map((w) => w.id));
      const remote = [...federated.values()]
        .filter((w) => !held.has(w.id) && !c.worldDirectory.holds(w.id))
        .slice(0, Math.max(0, limit - local.length))
        .map((w) => ({
          id: w.id,
          owner_id: w.ownerId,
          owner_name: null,
          name: w.name,
          description: null,
          stake_total: '0',
          website_link: null,
          avatarHash: null,
          nodes: w.nodes,
        }));
      return ctx.json([...local, ...remote], 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/worlds/{objectID}',
      tags: ['worlds'],
      summary: 'A world, with whether the caller administers it',
      security: bearer,
      request: { params: umidParam('objectID') },
      responses: { 200: { description: 'the world', ...json(worldDetailsSchema) }, ...errors(400, 401, 404) },
    }),
    async (ctx) => {
      const { objectID } = ctx.req.valid('param');
      const view = await s.world(objectID);
      const details = worldDetails(view, s.isAdmin(ctx.get('user'), objectID));
      return ctx.json({ ...details, last_staking_comment: await c.stakes.lastComment(objectID) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/worlds/{objectID}/online-users',
      tags: ['worlds'],
      summary: 'The users in the world right now',
      security: bearer,
      request: { params: umidParam('objectID') },
      responses: { 200: { description: 'users', ...json(z.array(userSchema)) }, ...errors(400, 401, 404) },
    }),
    async (ctx) => {
      const users = await s.onlineUsers(ctx.req.valid('param').objectID);
      return ctx.json(
        users.map((u) => userDto(u)),
        200,
      );
    },
  );

  // Creating a world writes several ops; bounded like object creation.
  app.on(
    'POST',
    '/worlds',
    rateLimit(c.config.objectCreatesPerMinute, c.config.objectCreatesPerMinute, byUser),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/worlds',
      tags: ['worlds'],
      summary: 'Create a world owned by the caller (node admins; any non-guest when worldCreation=users)',
      security: bearer,
      request: {
        body: {
          required: true,
          ...json(
            z.object({
              name: worldName,
              description: description.optional(),
              website_link: websiteLink.optional(),
            }),
          ),
        },
      },
      responses: {
        201: { description: 'the new world', ...json(worldDetailsSchema) },
        ...errors(400, 401, 403, 429),
      },
    }),
    async (ctx) => {
      const body = ctx.req.valid('json');
      const me = ctx.get('user');
      const view = await s.createWorld(me, {
        name: body.name,
        description: body.description,
        websiteLink: body.website_link,
      });
      return ctx.json(worldDetails(view, true), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/worlds/{objectID}',
      tags: ['worlds'],
      summary: "Edit a world's name, description and website link (admins of the world)",
      security: bearer,
      request: {
        params: umidParam('objectID'),
        body: {
          required: true,
          ...json(
            z
              .object({
                name: worldName.optional(),
                description: description.optional(),
                website_link: websiteLink.optional(),
              })
              .strict(),
          ),
        },
      },
      responses: { 200: { description: 'done', ...json(z.null()) }, ...errors(400, 401, 403, 404) },
    }),
    async (ctx) => {
      const body = ctx.req.valid('json');
      await s.patchWorld(ctx.get('user'), ctx.req.valid('param').objectID, {
        name: body.name,
        description: body.description,
        websiteLink: body.website_link,
      });
      return ctx.json(null, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/users/{userID}/worlds',
      tags: ['worlds'],
      summary: 'The worlds a user owns, newest first',
      security: bearer,
      request: { params: umidParam('userID'), query: z.object({ limit: limitQuery(100, 100) }) },
      responses: {
        200: { description: 'worlds', ...json(z.array(ownedWorldSchema)) },
        ...errors(400, 401, 404),
      },
    }),
    async (ctx) => {
      const { userID } = ctx.req.valid('param');
      if (!(await c.users.get(userID))) throw notFound('user_not_found', 'user not found');
      const worlds = await s.listWorlds({
        ascending: false,
        limit: ctx.req.valid('query').limit,
        ownerId: userID,
      });
      return ctx.json(worlds.map(ownedWorld), 200);
    },
  );

  return app;
}

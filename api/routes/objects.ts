/**
 * Objects on the original's /api/v4 shapes: create (admins of the parent), spawn-by-user (now with a
 * permission check and a correct child limit), read, patch, remove (with the whole subtree), clone, tree.
 * Every change goes through the object service, so it is in LevelDB before the response and on PosBus.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiComponents } from '../env.ts';
import { byUser, rateLimit } from '../middleware/rate-limit.ts';
import { bearer, errors, json, routes, transformSchema, umid, umidParam } from '../validation.ts';
import { objectDto, objectIdSchema, objectSchema, treeDto, treeSchema } from '../world-dto.ts';
import { objectMemberRoutes } from './object-members.ts';

const objectName = z.string().trim().min(1).max(255);
/** An asset id, or '' to clear it (PATCH). */
const assetOrClear = z.union([z.literal(''), umid]);

export function objectRoutes(c: ApiComponents) {
  const app = routes();
  const s = c.objects;

  // One budget per user for every route that adds objects.
  const createLimit = rateLimit(c.config.objectCreatesPerMinute, c.config.objectCreatesPerMinute, byUser);
  app.on('POST', ['/objects', '/objects/:objectID/spawn-by-user', '/objects/:objectID/clone'], createLimit);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/objects',
      tags: ['objects'],
      summary:
        'Create an object below parent_id (admins of the parent); placed near the caller without a transform',
      security: bearer,
      request: {
        body: {
          required: true,
          ...json(
            z.object({
              object_name: objectName,
              parent_id: umid,
              object_type_id: umid,
              asset_2d_id: umid.nullish(),
              asset_3d_id: umid.nullish(),
              transform: transformSchema.optional(),
              minimap: z.boolean().optional(),
            }),
          ),
        },
      },
      responses: {
        201: { description: 'created', ...json(objectIdSchema) },
        ...errors(400, 401, 403, 404, 429),
      },
    }),
    async (ctx) => {
      const body = ctx.req.valid('json');
      const id = await s.createObject(ctx.get('user'), {
        name: body.object_name,
        parentId: body.parent_id,
        typeId: body.object_type_id,
        asset2dId: body.asset_2d_id ?? undefined,
        asset3dId: body.asset_3d_id ?? undefined,
        transform: body.transform,
        showOnMinimap: body.minimap,
      });
      return ctx.json({ object_id: id }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/objects/{objectID}/spawn-by-user',
      tags: ['objects'],
      summary:
        "Spawn the caller's own object below objectID (admins, non-guests, or anyone in a publicly editable world)",
      security: bearer,
      request: {
        params: umidParam('objectID'),
        // The original's `attributes.object_user` are not stored yet (object-user attributes are not served
        // by this node); extra keys are ignored rather than refused so that its UI keeps working.
        body: { required: true, ...json(z.object({ object_name: objectName, object_type_id: umid })) },
      },
      responses: {
        201: { description: 'created', ...json(objectIdSchema) },
        ...errors(400, 401, 403, 404, 429),
      },
    }),
    async (ctx) => {
      const body = ctx.req.valid('json');
      const id = await s.spawnByUser(ctx.get('user'), ctx.req.valid('param').objectID, {
        name: body.object_name,
        typeId: body.object_type_id,
      });
      return ctx.json({ object_id: id }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/{objectID}',
      tags: ['objects'],
      summary: 'An object',
      security: bearer,
      request: {
        params: umidParam('objectID'),
        // Accepted for compatibility: object types carry no default assets here, so both answers agree.
        query: z.object({ effective: z.enum(['true', 'false']).optional() }),
      },
      responses: { 200: { description: 'the object', ...json(objectSchema) }, ...errors(400, 401, 404) },
    }),
    async (ctx) => {
      const object = await s.object(ctx.req.valid('param').objectID);
      return ctx.json(objectDto(object, c.nodeId), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/objects/{objectID}',
      tags: ['objects'],
      summary: 'Rename an object or change its assets ("" clears); admins only',
      security: bearer,
      request: {
        params: umidParam('objectID'),
        body: {
          required: true,
          ...json(
            z
              .object({
                object_name: objectName.optional(),
                asset_2d_id: assetOrClear.optional(),
                asset_3d_id: assetOrClear.optional(),
              })
              .strict(),
          ),
        },
      },
      responses: {
        200: { description: 'done', ...json(objectIdSchema) },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      const { objectID } = ctx.req.valid('param');
      const body = ctx.req.valid('json');
      await s.patchObject(ctx.get('user'), objectID, {
        name: body.object_name,
        asset2dId: body.asset_2d_id,
        asset3dId: body.asset_3d_id,
      });
      return ctx.json({ object_id: objectID }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/objects/{objectID}',
      tags: ['objects'],
      summary: 'Remove an object and everything below it; admins only, worlds are refused (403 forbidden)',
      security: bearer,
      request: { params: umidParam('objectID') },
      responses: { 200: { description: 'removed', ...json(z.null()) }, ...errors(400, 401, 403, 404) },
    }),
    async (ctx) => {
      await s.removeObject(ctx.get('user'), ctx.req.valid('param').objectID);
      return ctx.json(null, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/objects/{objectID}/clone',
      tags: ['objects'],
      summary: 'Copy an object and its attributes next to it (same parent, owner, type, assets, options)',
      security: bearer,
      request: { params: umidParam('objectID') },
      responses: {
        200: { description: 'the copy', ...json(objectIdSchema) },
        ...errors(400, 401, 403, 404, 429),
      },
    }),
    async (ctx) => {
      const id = await s.cloneObject(ctx.get('user'), ctx.req.valid('param').objectID);
      return ctx.json({ object_id: id }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/{objectID}/tree',
      tags: ['objects'],
      summary: 'The object and its descendants, max_depth levels deep (at most 10)',
      security: bearer,
      request: {
        params: umidParam('objectID'),
        query: z.object({ max_depth: z.coerce.number().int().min(1).max(10).default(10) }),
      },
      responses: { 200: { description: 'the tree', ...json(treeSchema) }, ...errors(400, 401, 404) },
    }),
    async (ctx) => {
      const { max_depth } = ctx.req.valid('query');
      const tree = await s.tree(ctx.req.valid('param').objectID, max_depth);
      return ctx.json({ ...treeDto(tree), max_depth }, 200);
    },
  );

  app.route('/', objectMemberRoutes(c));
  return app;
}

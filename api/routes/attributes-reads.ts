/**
 * Attribute reads across many owners (an object's subtree, every user on an object), the entries listing,
 * publicize, and the public plugin list. "Read all" routes serve only types every signed-in user may read.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { invalid } from '../../common/errors.ts';
import type { ApiComponents, ApiEnv } from '../env.ts';
import { bearer, errors, json, limitQuery, umid, umidParam } from '../validation.ts';
import { attributeName, ref, refSchema } from './attributes-schemas.ts';

const tags = ['attributes'];
const fieldName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only, at most 64');
const fieldList = z.union([fieldName, z.array(fieldName).max(20)]).optional();
/** Query keys of the entries route that are not equality filters. */
const ENTRY_OPTIONS = new Set(['fields', 'fields[]', 'order', 'limit', 'offset', 'q']);
const MAX_FILTERS = 10;

const entriesQuery = z
  .object({
    fields: fieldList,
    'fields[]': fieldList,
    order: z
      .string()
      .regex(/^-?[A-Za-z0-9_.-]{1,64}$/, 'a field name, - in front for descending')
      .optional(),
    limit: limitQuery(100, 10),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    q: z.string().max(200).optional(),
  })
  .catchall(z.string().max(200));

const pluginDto = z
  .object({
    plugin_id: z.string(),
    meta: z.record(z.string(), z.unknown()),
    options: z.record(z.string(), z.unknown()).nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Plugin');

export function readRoutes(app: OpenAPIHono<ApiEnv>, c: ApiComponents): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/plugin',
      tags,
      summary: 'Plugins, optionally one by id or those whose name or description contains a text',
      request: {
        query: z.object({ pluginId: umid.optional(), text: z.string().max(200).optional() }),
      },
      responses: { 200: { description: 'plugins', ...json(z.array(pluginDto)) }, ...errors(400) },
    }),
    (ctx) => {
      const { pluginId, text } = ctx.req.valid('query');
      const needle = text?.toLowerCase();
      const plugins = c.attributes.types
        .plugins()
        .filter((p) => !pluginId || p.id === pluginId)
        .filter((p) => !needle || `${p.meta.name} ${p.meta.description ?? ''}`.toLowerCase().includes(needle))
        .map((p) => ({
          plugin_id: p.id,
          meta: p.meta,
          options: p.options,
          created_at: new Date(p.createdAt).toISOString(),
          updated_at: new Date(p.updatedAt).toISOString(),
        }));
      return ctx.json(plugins, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/{objectID}/attributes-with-children',
      tags,
      security: bearer,
      summary: 'An attribute of an object and of every object below it: {objectId: value}',
      request: { params: umidParam('objectID'), query: refSchema },
      responses: {
        200: { description: 'values by object', ...json(z.record(z.string(), z.unknown())) },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      const { objectID } = ctx.req.valid('param');
      const q = ref(ctx.req.valid('query'));
      return ctx.json(await c.attributes.withChildren(ctx.get('user'), objectID, q), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/{objectID}/all-users/attributes',
      tags,
      security: bearer,
      summary: "Every user's value of an object-user attribute: {userId: value}",
      request: { params: umidParam('objectID'), query: refSchema },
      responses: {
        200: { description: 'values by user', ...json(z.record(z.string(), z.unknown())) },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      const { objectID } = ctx.req.valid('param');
      const q = ref(ctx.req.valid('query'));
      const all = await c.attributes.allUsers(ctx.get('user'), objectID, q);
      return ctx.json(Object.fromEntries(all.map((u) => [u.userId, u.value])), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/{objectID}/all-users/count',
      tags,
      security: bearer,
      summary: 'How many users have a value of an object-user attribute, optionally written since a time',
      request: {
        params: umidParam('objectID'),
        query: refSchema.extend({ since: z.iso.datetime({ offset: true }).optional() }),
      },
      responses: {
        200: { description: 'the count', ...json(z.object({ count: z.number() })) },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      const { objectID } = ctx.req.valid('param');
      const query = ctx.req.valid('query');
      const since = query.since ? Date.parse(query.since) : 0;
      const all = await c.attributes.allUsers(ctx.get('user'), objectID, ref(query));
      return ctx.json({ count: all.filter((u) => u.updatedAt >= since).length }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/{objectID}/all-users/attributes/{pluginID}/{attrName}/entries',
      tags,
      security: bearer,
      summary:
        "Every user's value flattened into entries (one per top-level key); `<field>=<text>` filters by equality",
      request: {
        params: z.object({
          objectID: umid.openapi({ param: { name: 'objectID', in: 'path' } }),
          pluginID: umid.openapi({ param: { name: 'pluginID', in: 'path' } }),
          attrName: attributeName.openapi({ param: { name: 'attrName', in: 'path' } }),
        }),
        query: entriesQuery,
      },
      responses: {
        200: {
          description: 'a page of entries',
          ...json(
            z.object({
              count: z.number(),
              limit: z.number(),
              offset: z.number(),
              items: z.array(z.record(z.string(), z.unknown())),
            }),
          ),
        },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      const { objectID, pluginID, attrName } = ctx.req.valid('param');
      const query = ctx.req.valid('query');
      const filters = Object.fromEntries(
        Object.entries(query).filter(([k]) => !ENTRY_OPTIONS.has(k)) as [string, string][],
      );
      const names = Object.keys(filters);
      const bad = names.find((n) => !fieldName.safeParse(n).success);
      if (bad) throw invalid('invalid_request', `query.${bad}: not a field name`);
      if (names.length > MAX_FILTERS)
        throw invalid('invalid_request', `query: at most ${MAX_FILTERS} filters`);
      const fields = query['fields[]'] ?? query.fields;
      const page = await c.attributes.entries(
        ctx.get('user'),
        objectID,
        { pluginId: pluginID, name: attrName },
        {
          fields: fields === undefined ? undefined : [fields].flat(),
          filters,
          order: query.order,
          limit: query.limit,
          offset: query.offset,
          q: query.q,
        },
      );
      return ctx.json(page, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/objects/{objectID}/attributes/publicize',
      tags,
      security: bearer,
      summary:
        "Opens one of an object's attributes: read by anyone, written by any signed-in user (object admins)",
      request: { params: umidParam('objectID'), query: refSchema },
      responses: {
        200: {
          description: "the attribute's own options now",
          ...json(z.object({ plugin_id: z.string(), attribute_name: z.string(), options: z.unknown() })),
        },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      const { objectID } = ctx.req.valid('param');
      const query = ctx.req.valid('query');
      const options = await c.attributes.publicize(ctx.get('user'), objectID, ref(query));
      return ctx.json({ plugin_id: query.plugin_id, attribute_name: query.attribute_name, options }, 200);
    },
  );
}

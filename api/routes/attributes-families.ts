/**
 * Value and sub-value routes, the same six for each attribute family: GET/POST/DELETE of the whole value
 * and of one top-level key. GET → 200 the value; POST value → 202 the value; POST sub → 202 {key: value};
 * DELETE → 200 null.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AttributeTarget } from '../../node/attributes/targets.ts';
import type { UserRecord } from '../../node/user/user-store.ts';
import type { ApiComponents, ApiEnv } from '../env.ts';
import { bearer, errors, json, umid } from '../validation.ts';
import {
  deleteBodyDoc,
  deleteParams,
  ref,
  refSchema,
  subRefSchema,
  subValueBody,
  valueBody,
} from './attributes-schemas.ts';

export interface Family {
  /** For the OpenAPI summaries: "an object's attribute". */
  owner: string;
  valuePath: string;
  subPath: string;
  /** Path parameters, all UMIDs. */
  params: string[];
  target(params: Record<string, string>, caller: UserRecord): AttributeTarget;
}

export const FAMILIES = {
  node: {
    owner: "the node's",
    valuePath: '/node/attributes',
    subPath: '/node/attributes/sub',
    params: [],
    target: () => ({ family: 'node' }),
  },
  object: {
    owner: "an object's",
    valuePath: '/objects/{objectID}/attributes',
    subPath: '/objects/{objectID}/attributes/sub',
    params: ['objectID'],
    target: (p) => ({ family: 'object', objectId: p.objectID }),
  },
  objectUser: {
    owner: "a user's, on an object (the node id for node-wide lists),",
    valuePath: '/objects/{objectID}/{userID}/attributes',
    subPath: '/objects/{objectID}/{userID}/attributes/sub',
    params: ['objectID', 'userID'],
    target: (p) => ({ family: 'objectUser', objectId: p.objectID, userId: p.userID }),
  },
  /** Registered before `user`: `/users/me/…` would otherwise be taken for a malformed user id. */
  me: {
    owner: "the signed-in user's",
    valuePath: '/users/me/attributes',
    subPath: '/users/me/attributes/sub',
    params: [],
    target: (_p, caller) => ({ family: 'user', userId: caller.id }),
  },
  user: {
    owner: "a user's",
    valuePath: '/users/{userID}/attributes',
    subPath: '/users/{userID}/attributes/sub',
    params: ['userID'],
    target: (p) => ({ family: 'user', userId: p.userID }),
  },
  userUser: {
    owner: "a user's, about another user,",
    valuePath: '/users/attributes/{userID}/{targetID}',
    subPath: '/users/attributes/sub/{userID}/{targetID}',
    params: ['userID', 'targetID'],
    target: (p) => ({ family: 'userUser', sourceId: p.userID, targetId: p.targetID }),
  },
} satisfies Record<string, Family>;

const paramsSchema = (names: string[]) =>
  z.object(Object.fromEntries(names.map((n) => [n, umid.openapi({ param: { name: n, in: 'path' } })])));

export function familyRoutes(app: OpenAPIHono<ApiEnv>, c: ApiComponents, family: Family): void {
  const params = family.params.length ? paramsSchema(family.params) : undefined;
  const base = { tags: ['attributes'], security: bearer };
  const targetOf = (ctx: { req: { valid(t: never): unknown }; get(k: 'user'): UserRecord }) =>
    family.target((params ? ctx.req.valid('param' as never) : {}) as Record<string, string>, ctx.get('user'));
  const route = (method: 'get' | 'post' | 'delete', sub: boolean, summary: string, extra: object) =>
    createRoute({
      ...base,
      method,
      path: sub ? family.subPath : family.valuePath,
      summary: `${summary} ${family.owner} attribute${sub ? ' (one key)' : ''}`,
      request: { ...(params ? { params } : {}), ...extra } as never,
      responses: {
        200: { description: 'the value', ...json(z.unknown()) },
        202: { description: 'stored', ...json(z.unknown()) },
        ...errors(400, 401, 403, 404),
      },
    });

  app.openapi(route('get', false, 'Read', { query: refSchema }), async (ctx) => {
    const q = ctx.req.valid('query' as never) as z.infer<typeof refSchema>;
    const target = targetOf(ctx);
    return ctx.json(await c.attributes.get(ctx.get('user'), target, ref(q)), 200);
  });

  app.openapi(
    route('post', false, 'Write', { body: { required: true, ...json(valueBody) } }),
    async (ctx) => {
      const b = ctx.req.valid('json' as never) as z.infer<typeof valueBody>;
      const target = targetOf(ctx);
      const stored = await c.attributes.set(ctx.get('user'), target, ref(b), b.attribute_value);
      return ctx.json(stored, 202);
    },
  );

  app.openapi(
    route('delete', false, 'Delete', { query: refSchema.partial(), body: deleteBodyDoc(false) }),
    async (ctx) => {
      const p = await deleteParams(refSchema, ctx.req);
      const target = targetOf(ctx);
      await c.attributes.remove(ctx.get('user'), target, ref(p));
      return ctx.json(null, 200);
    },
  );

  app.openapi(route('get', true, 'Read', { query: subRefSchema }), async (ctx) => {
    const q = ctx.req.valid('query' as never) as z.infer<typeof subRefSchema>;
    const target = targetOf(ctx);
    const out = await c.attributes.getSub(ctx.get('user'), target, ref(q), q.sub_attribute_key);
    return ctx.json(out, 200);
  });

  app.openapi(
    route('post', true, 'Write', { body: { required: true, ...json(subValueBody) } }),
    async (ctx) => {
      const b = ctx.req.valid('json' as never) as z.infer<typeof subValueBody>;
      const target = targetOf(ctx);
      const out = await c.attributes.setSub(
        ctx.get('user'),
        target,
        ref(b),
        b.sub_attribute_key,
        b.sub_attribute_value,
      );
      return ctx.json(out, 202);
    },
  );

  app.openapi(
    route('delete', true, 'Delete', { query: subRefSchema.partial(), body: deleteBodyDoc(true) }),
    async (ctx) => {
      const p = await deleteParams(subRefSchema, ctx.req);
      const target = targetOf(ctx);
      await c.attributes.removeSub(ctx.get('user'), target, ref(p), p.sub_attribute_key);
      return ctx.json(null, 200);
    },
  );
}

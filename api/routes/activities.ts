/**
 * Activities: the node's newsfeed and each object's timeline (posts of videos and screenshots). Every change
 * reaches the people in the object's world as a PosBus ActivityUpdate (see ActivityController).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { USER_ACTIVITY_TYPES } from '../../node/activities/activity-controller.ts';
import type { ActivityRecord } from '../../node/activities/activity-store.ts';
import type { UserRecord } from '../../node/user/user-store.ts';
import { CORE_PLUGIN_ID } from '../../node/world/render.ts';
import { attributeKey, type WorldState } from '../../node/world/world-store.ts';
import type { ApiComponents } from '../env.ts';
import { byUser, rateLimit } from '../middleware/rate-limit.ts';
import { bearer, errors, json, limitQuery, routes, umidParam, vec3 } from '../validation.ts';

const activitySchema = z
  .object({
    activity_id: z.string(),
    user_id: z.string(),
    object_id: z.string(),
    type: z.string(),
    data: z.object({
      position: vec3.nullable(),
      description: z.string().nullable(),
      hash: z.string().nullable(),
      token_symbol: z.string().nullable(),
      token_amount: z.string().nullable(),
      bc_tx_hash: z.string().nullable(),
      bc_log_index: z.string().nullable(),
    }),
    avatar_hash: z.string().nullable(),
    world_name: z.string(),
    world_avatar_hash: z.string().nullable(),
    user_name: z.string(),
    created_at: z.string(),
  })
  .openapi('Activity');

type ActivityDto = z.infer<typeof activitySchema>;

const pageSchema = z
  .object({
    activities: z.array(activitySchema),
    startIndex: z.number(),
    pageSize: z.number(),
    totalCount: z.number(),
  })
  .openapi('ActivityPage');

/** Paging: the original requires both; here they default, and both are bounded. */
const pageQuery = z.object({
  startIndex: z.coerce.number().int().min(0).max(10_000).default(0),
  pageSize: limitQuery(100, 10),
});

const activityType = z.enum(USER_ACTIVITY_TYPES);
const postBody = z
  .object({
    type: activityType,
    hash: z.string().trim().min(1).max(500),
    description: z.string().max(2000).optional(),
  })
  .openapi('ActivityPost');
/** As in the original, an empty string leaves a field unchanged. */
const patchBody = z
  .object({
    type: z.union([activityType, z.literal('')]).optional(),
    hash: z.string().trim().max(500).optional(),
    description: z.string().max(2000).optional(),
  })
  .openapi('ActivityPatch');

const objectParam = umidParam('objectID');
const activityParams = objectParam.extend(umidParam('activityID').shape);

export function activityRoutes(c: ApiComponents) {
  const app = routes();
  const postLimit = rateLimit(c.config.activityPostsPerMinute, c.config.activityPostsPerMinute, byUser);

  /** The world an object belongs to: its name and its `world_avatar` image. */
  function worldOf(objectId: string): { name: string; avatarHash: string | null } {
    const found = c.store.findObject(objectId);
    if (!found) return { name: '', avatarHash: null };
    return {
      name: found.state.objects.get(found.state.id)?.name ?? '',
      avatarHash: worldAvatar(found.state),
    };
  }

  /** Activities with their authors' and worlds' names and images, each user loaded once. */
  async function dtos(records: ActivityRecord[]): Promise<ActivityDto[]> {
    const users = new Map<string, Promise<UserRecord | undefined>>();
    const userOf = (id: string) => {
      let user = users.get(id);
      if (!user) {
        user = c.users.get(id);
        users.set(id, user);
      }
      return user;
    };
    return Promise.all(
      records.map(async (a) => {
        const user = await userOf(a.userId);
        const world = worldOf(a.objectId);
        const d = a.data;
        return {
          activity_id: a.activityId,
          user_id: a.userId,
          object_id: a.objectId,
          type: a.type,
          data: {
            position: d.position,
            description: d.description,
            hash: d.hash,
            token_symbol: d.tokenSymbol,
            token_amount: d.tokenAmount,
            bc_tx_hash: d.bcTxHash,
            bc_log_index: d.bcLogIndex,
          },
          avatar_hash: user?.profile?.avatarHash ?? null,
          world_name: world.name,
          world_avatar_hash: world.avatarHash,
          user_name: user?.name ?? '',
          created_at: new Date(a.createdAt).toISOString(),
        };
      }),
    );
  }

  const one = async (record: ActivityRecord) => (await dtos([record]))[0];

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/newsfeed',
      tags: ['activities'],
      summary: 'The newest activities of every object on this node',
      security: bearer,
      request: { query: pageQuery },
      responses: { 200: { description: 'a page of activities', ...json(pageSchema) }, ...errors(400, 401) },
    }),
    async (ctx) => {
      const { startIndex, pageSize } = ctx.req.valid('query');
      const page = await c.activities.newsfeed(startIndex, pageSize);
      return ctx.json(
        { activities: await dtos(page.activities), startIndex, pageSize, totalCount: page.totalCount },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/{objectID}/timeline',
      tags: ['activities'],
      summary: "An object's timeline, newest first",
      security: bearer,
      request: { params: objectParam, query: pageQuery },
      responses: { 200: { description: 'a page of activities', ...json(pageSchema) }, ...errors(400, 401) },
    }),
    async (ctx) => {
      const { objectID } = ctx.req.valid('param');
      const { startIndex, pageSize } = ctx.req.valid('query');
      const page = await c.activities.timeline(objectID, startIndex, pageSize);
      return ctx.json(
        { activities: await dtos(page.activities), startIndex, pageSize, totalCount: page.totalCount },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/objects/{objectID}/timeline',
      tags: ['activities'],
      summary: "Post a video or screenshot on an object's timeline (with where you stand in its world)",
      security: bearer,
      middleware: [postLimit] as const,
      request: { params: objectParam, body: { ...json(postBody), required: true } },
      responses: {
        201: { description: 'the new activity', ...json(activitySchema) },
        ...errors(400, 401, 404, 429),
      },
    }),
    async (ctx) => {
      const { objectID } = ctx.req.valid('param');
      const post = ctx.req.valid('json');
      const activity = await c.activities.create(ctx.get('user'), objectID, post);
      return ctx.json(await one(activity), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/{objectID}/timeline/{activityID}',
      tags: ['activities'],
      summary: 'One activity of an object',
      security: bearer,
      request: { params: activityParams },
      responses: { 200: { description: 'the activity', ...json(activitySchema) }, ...errors(400, 401, 404) },
    }),
    async (ctx) => {
      const { objectID, activityID } = ctx.req.valid('param');
      const activity = await c.activities.get(objectID, activityID);
      return ctx.json(await one(activity), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/objects/{objectID}/timeline/{activityID}',
      tags: ['activities'],
      summary: 'Edit your own activity (empty strings leave a field as it is)',
      security: bearer,
      request: { params: activityParams, body: { ...json(patchBody), required: true } },
      responses: {
        200: { description: 'the edited activity', ...json(activitySchema) },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      const { objectID, activityID } = ctx.req.valid('param');
      const { type, hash, description } = ctx.req.valid('json');
      const patch = {
        type: type || undefined,
        hash: hash || undefined,
        description: description || undefined,
      };
      const activity = await c.activities.update(ctx.get('user'), objectID, activityID, patch);
      return ctx.json(await one(activity), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/objects/{objectID}/timeline/{activityID}',
      tags: ['activities'],
      summary: 'Delete an activity: its author or an admin of the object',
      security: bearer,
      request: { params: activityParams },
      responses: { 200: { description: 'deleted', ...json(z.literal(true)) }, ...errors(400, 401, 403, 404) },
    }),
    async (ctx) => {
      const { objectID, activityID } = ctx.req.valid('param');
      await c.activities.remove(ctx.get('user'), objectID, activityID);
      return ctx.json(true as const, 200);
    },
  );

  return app;
}

function worldAvatar(state: WorldState): string | null {
  const value = state.attributes.get(attributeKey(state.id, CORE_PLUGIN_ID, 'world_avatar'))?.value;
  const hash = value?.render_hash;
  return typeof hash === 'string' && hash ? hash : null;
}

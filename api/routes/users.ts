/** Users and profiles: me, by id, profile edits, lists and search, a user's worlds. */
import { createRoute, z } from '@hono/zod-openapi';
import { notFound } from '../../common/errors.ts';
import { profileSchema, userDto, userSchema, userSummary, userSummarySchema } from '../dto.ts';
import type { ApiComponents } from '../env.ts';
import { bearer, errors, json, limitQuery, routes, umidParam } from '../validation.ts';

const meSchema = userSchema
  .extend({
    uploads: z
      .object({
        usedBytes: z.number().int().openapi({
          description:
            'bytes stored because of their uploads (an upload of bytes already stored adds nothing)',
        }),
        quotaBytes: z
          .number()
          .int()
          .nullable()
          .openapi({ description: 'their upload quota; null = no limit (node admins), 0 = no uploads' }),
      })
      .openapi('UploadUsage'),
  })
  .openapi('Me');

export function userRoutes(c: ApiComponents) {
  const app = routes();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/users/me',
      tags: ['users'],
      summary: 'The signed-in user, with their upload usage and quota',
      security: bearer,
      responses: { 200: { description: 'the user', ...json(meSchema) }, ...errors(401) },
    }),
    async (ctx) => {
      const user = ctx.get('user');
      return ctx.json({ ...userDto(user), uploads: await c.uploadQuotas.usage(user) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/users/search',
      tags: ['users'],
      summary: 'Users whose name contains the query (case-insensitive)',
      security: bearer,
      request: { query: z.object({ query: z.string().max(100).default(''), limit: limitQuery(100, 100) }) },
      responses: {
        200: { description: 'matching users', ...json(z.array(userSummarySchema)) },
        ...errors(400, 401),
      },
    }),
    async (ctx) => {
      const { query, limit } = ctx.req.valid('query');
      const needle = query.toLowerCase();
      const users = await c.users.list({
        filter: (u) => !u.isGuest && u.name.toLowerCase().includes(needle),
        limit,
      });
      return ctx.json(users.map(userSummary), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/users',
      tags: ['users'],
      summary: 'Normal (non-guest) users by creation time',
      security: bearer,
      request: {
        query: z.object({ sort: z.enum(['ASC', 'DESC']).default('DESC'), limit: limitQuery(100, 100) }),
      },
      responses: { 200: { description: 'users', ...json(z.array(userSummarySchema)) }, ...errors(400, 401) },
    }),
    async (ctx) => {
      const { sort, limit } = ctx.req.valid('query');
      const users = await c.users.list({ filter: (u) => !u.isGuest, ascending: sort === 'ASC', limit });
      return ctx.json(users.map(userSummary), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/users/{userID}',
      tags: ['users'],
      summary: 'A user by id',
      security: bearer,
      request: { params: umidParam('userID') },
      responses: { 200: { description: 'the user', ...json(userSchema) }, ...errors(400, 401, 404) },
    }),
    async (ctx) => {
      const user = await c.users.get(ctx.req.valid('param').userID);
      if (!user) throw notFound('user_not_found', 'user not found');
      return ctx.json(userDto(user), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/profile',
      tags: ['users'],
      summary: "Edit the signed-in user's name and profile (fields merge)",
      security: bearer,
      request: {
        body: {
          required: true,
          ...json(
            z
              .object({
                name: z.string().trim().min(1).max(64).optional(),
                profile: profileSchema
                  .omit({ onboarded: true })
                  .extend({
                    bio: z.string().max(2000).optional(),
                    location: z.string().max(200).optional(),
                    avatarHash: z.string().max(200).optional(),
                    profileLink: z.string().max(500).optional(),
                  })
                  .strict()
                  .optional(),
              })
              .strict(),
          ),
        },
      },
      responses: {
        200: { description: 'done', ...json(z.object({ job_id: z.null(), user_id: z.string() })) },
        ...errors(400, 401),
      },
    }),
    async (ctx) => {
      const user = await c.users.updateProfile(ctx.get('user').id, ctx.req.valid('json'));
      return ctx.json({ job_id: null, user_id: user.id }, 200);
    },
  );

  return app;
}

/**
 * Admin members of an object (the original's `user_object` rows with role "admin"): an admin member of an
 * object administers it and everything below it. Only admins of the object may list, grant or revoke.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiComponents } from '../env.ts';
import { bearer, errors, json, routes, umid, umidParam } from '../validation.ts';
import { memberDto, memberSchema } from '../world-dto.ts';

const grantBody = z
  .object({
    user_id: umid.optional(),
    /** Any form the sign-in accepts (EIP-55 or lowercase 0x…, SS58 or hex public key). */
    wallet: z.string().min(1).max(128).optional(),
    role: z.literal('admin'),
  })
  .superRefine((body, ctx) => {
    if ((body.user_id === undefined) === (body.wallet === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['user_id'], message: 'give exactly one of user_id or wallet' });
    }
  });

export function objectMemberRoutes(c: ApiComponents) {
  const app = routes();
  const s = c.objects;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/objects/{objectID}/members',
      tags: ['objects'],
      summary: 'Admin members of an object (admins only)',
      security: bearer,
      request: { params: umidParam('objectID') },
      responses: {
        200: { description: 'members', ...json(z.array(memberSchema)) },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      const members = await s.members(ctx.get('user'), ctx.req.valid('param').objectID);
      return ctx.json(members.map(memberDto), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/objects/{objectID}/members',
      tags: ['objects'],
      summary: 'Make a user (by id or wallet) an admin member of an object (admins only)',
      security: bearer,
      request: { params: umidParam('objectID'), body: { required: true, ...json(grantBody) } },
      responses: { 200: { description: 'granted', ...json(z.null()) }, ...errors(400, 401, 403, 404) },
    }),
    async (ctx) => {
      const body = ctx.req.valid('json');
      const who = body.wallet !== undefined ? { wallet: body.wallet } : { userId: body.user_id as string };
      await s.grantMember(ctx.get('user'), ctx.req.valid('param').objectID, who);
      return ctx.json(null, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/objects/{objectID}/members/{userID}',
      tags: ['objects'],
      summary: 'Revoke a membership (admins only)',
      security: bearer,
      request: { params: umidParam('objectID').extend(umidParam('userID').shape) },
      responses: { 200: { description: 'revoked', ...json(z.null()) }, ...errors(400, 401, 403, 404) },
    }),
    async (ctx) => {
      const { objectID, userID } = ctx.req.valid('param');
      await s.revokeMember(ctx.get('user'), objectID, userID);
      return ctx.json(null, 200);
    },
  );

  return app;
}

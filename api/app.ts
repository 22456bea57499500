/**
 * The HTTP API (hono). This file composes the routes; each group lives in its own module.
 */
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { TokenService } from '../node/auth/tokens.ts';
import type { UserStore } from '../node/user/user-store.ts';
import { apiError } from './errors.ts';

export interface ApiComponents {
  version: string;
  startedAt: number;
  tokens: TokenService;
  users: UserStore;
  logger: Logger;
  /** Live counters for /health. */
  stats(): { worlds: number; sessions: number };
}

export function createApp(c: ApiComponents): Hono {
  const app = new Hono();

  app.get('/health', (ctx) =>
    ctx.json({
      status: 'ok',
      version: c.version,
      uptime: Math.round((Date.now() - c.startedAt) / 1000),
      ...c.stats(),
    }),
  );

  app.get('/version', (ctx) => {
    const [major, minor, patch] = c.version.split('.').map(Number);
    return ctx.json({
      api: { major: 4, minor: 0, patch: 0 },
      controller: { major, minor, patch, git: '' },
    });
  });

  app.post('/api/v4/auth/guest-token', async (ctx) => {
    const user = await c.users.createGuest();
    const token = await c.tokens.issue(user.id);
    const iso = (ms: number) => new Date(ms).toISOString();
    return ctx.json({
      id: user.id,
      userTypeId: GUEST_USER_TYPE_ID,
      name: user.name,
      profile: {},
      token,
      createdAt: iso(user.createdAt),
      updatedAt: iso(user.updatedAt),
      isGuest: true,
    });
  });

  app.notFound((ctx) => apiError(ctx, 404, 'not_found', `no route for ${ctx.req.method} ${ctx.req.path}`));
  app.onError((error, ctx) => {
    c.logger.error({ err: error, path: ctx.req.path }, 'request failed');
    return apiError(ctx, 500, 'internal_error', 'internal error');
  });
  return app;
}

/** The original's guest user type ("Temporary User"). */
export const GUEST_USER_TYPE_ID = '76802331-37b3-44fa-9010-35008b0cbaec';

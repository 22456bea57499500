/** `Authorization: Bearer <jwt>` → the caller, or 401 `failed_to_verify_access_token`. */
import type { MiddlewareHandler } from 'hono';
import type { ApiComponents, ApiEnv } from '../env.ts';
import { ApiError } from '../errors.ts';

export function requireUser(c: Pick<ApiComponents, 'tokens' | 'users'>): MiddlewareHandler<ApiEnv> {
  return async (ctx, next) => {
    const header = ctx.req.header('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token) throw new ApiError(401, 'failed_to_verify_access_token', 'missing bearer token');
    let sub: string;
    try {
      sub = (await c.tokens.verify(token)).sub;
    } catch (e) {
      throw new ApiError(401, 'failed_to_verify_access_token', (e as Error).message);
    }
    const user = await c.users.get(sub);
    if (!user) throw new ApiError(401, 'failed_to_verify_access_token', 'the token belongs to no user');
    ctx.set('user', user);
    await next();
  };
}

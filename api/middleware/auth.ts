/** `Authorization: Bearer <jwt>` → the caller, or 401 `failed_to_verify_access_token`. */
import type { MiddlewareHandler } from 'hono';
import { DomainError } from '../../common/errors.ts';
import type { ApiComponents, ApiEnv } from '../env.ts';

export function requireUser(c: Pick<ApiComponents, 'tokens' | 'users'>): MiddlewareHandler<ApiEnv> {
  return async (ctx, next) => {
    const header = ctx.req.header('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token)
      throw new DomainError('unauthorized', 'failed_to_verify_access_token', 'missing bearer token');
    // A bad, expired or other node's token is refused by verify with the same reason.
    const { sub } = await c.tokens.verify(token);
    const user = await c.users.get(sub);
    if (!user)
      throw new DomainError('unauthorized', 'failed_to_verify_access_token', 'the token belongs to no user');
    ctx.set('user', user);
    await next();
  };
}

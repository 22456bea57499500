/** Sets `clientAddress` on every request, from the one function that decides it (node/http/client-address.ts). */
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { clientAddress, type TrustProxy } from '../../node/http/client-address.ts';
import type { ApiEnv } from '../env.ts';

export function clientAddressMiddleware(trust: TrustProxy): MiddlewareHandler<ApiEnv> {
  return async (ctx, next) => {
    // @hono/node-server hands the node request in as `env.incoming`; without it (app.request in a
    // test) there is no peer to speak of.
    const incoming = (ctx.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    ctx.set(
      'clientAddress',
      clientAddress(trust, incoming?.socket?.remoteAddress, incoming?.headers['x-forwarded-for']),
    );
    await next();
  };
}

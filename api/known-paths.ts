/**
 * Which request paths some route handles, so that an unknown /api/v4 path can be answered 404 before the
 * token check (a typo should not look like an auth failure) while known paths keep their auth as is.
 */
import type { Context, Hono } from 'hono';
import { matchedRoutes } from 'hono/route';
import { TrieRouter } from 'hono/router/trie-router';

/** Middleware is registered with method ALL; route handlers with their own method. */
const isHandler = (route: { method: string }) => route.method !== 'ALL';

/** True when a route handler (not only middleware) matched this request's method and path. */
export function hasHandler(ctx: Context): boolean {
  return matchedRoutes(ctx).some(isHandler);
}

/**
 * `(path) => true` when a handler under `prefix` matches the path for any method. Built on first use,
 * when every route of the app is registered.
 */
export function knownPaths(app: Pick<Hono, 'routes'>, prefix: string): (path: string) => boolean {
  let router: TrieRouter<true> | undefined;
  return (path) => {
    if (!router) {
      router = new TrieRouter<true>();
      for (const route of app.routes)
        if (isHandler(route) && route.path.startsWith(prefix)) router.add('ALL', route.path, true);
    }
    return router.match('GET', path)[0].length > 0;
  };
}

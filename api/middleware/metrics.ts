/** Times every HTTP request into the metrics, labelled by the route pattern that answered it. */
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { NodeMetrics } from '../../node/metrics/node-metrics.ts';

export function httpMetrics(metrics: NodeMetrics): MiddlewareHandler {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      // The pattern, not the path: one series per route, whatever ids the paths carry.
      const handler = matchedRoutes(ctx).findLast((route) => route.method !== 'ALL');
      metrics.observeHttp(
        ctx.req.method,
        handler?.path ?? 'unmatched',
        ctx.res.status,
        (performance.now() - started) / 1000,
      );
    }
  };
}

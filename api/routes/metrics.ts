/**
 * GET /metrics: Prometheus text format, served only with --metrics on; with --metrics-token set, only to
 * `Authorization: Bearer <token>` (Prometheus: `authorization: { credentials: <token> }`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../common/errors.ts';
import type { NodeMetrics } from '../../node/metrics/node-metrics.ts';
import { routes } from '../validation.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function metricsRoutes(metrics: NodeMetrics, token: string) {
  const app = routes();
  const expected = token ? digest(token) : undefined;
  app.get('/metrics', async (ctx) => {
    if (expected) {
      const header = ctx.req.header('authorization') ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
      // Compared as digests: equal length, constant time.
      if (!timingSafeEqual(digest(given), expected))
        throw new DomainError(
          'unauthorized',
          'failed_to_verify_access_token',
          'metrics need the metrics token',
        );
    }
    const { body, contentType } = await metrics.scrape();
    return ctx.body(body, 200, { 'Content-Type': contentType });
  });
  return app;
}

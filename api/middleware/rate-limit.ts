/** Per-key token buckets (by client address, or by user) in front of costly or abusable routes. */
import type { Context, MiddlewareHandler } from 'hono';
import { DomainError } from '../../common/errors.ts';
import { TokenBucket } from '../../common/token-bucket.ts';
import type { ApiEnv } from '../env.ts';

/** Distinct clients tracked per limiter. */
const MAX_KEYS = 10_000;

export type RateKey = (ctx: Context<ApiEnv>) => string;

export const byAddress: RateKey = (ctx) => ctx.get('clientAddress');

export const byUser: RateKey = (ctx) => ctx.get('user')?.id ?? byAddress(ctx);

export function rateLimit(perMinute: number, burst: number, key: RateKey): MiddlewareHandler<ApiEnv> {
  const buckets = new Map<string, TokenBucket>();
  return async (ctx, next) => {
    const k = key(ctx);
    let bucket = buckets.get(k);
    if (!bucket) {
      // Bounded memory: forget buckets that have refilled (no client loses anything by it); never reset
      // a bucket that is still draining, or rotating keys would wipe every client's limit.
      if (buckets.size >= MAX_KEYS) {
        const now = performance.now();
        for (const [k, b] of buckets) if (b.isFull(now)) buckets.delete(k);
        if (buckets.size >= MAX_KEYS)
          throw new DomainError('rate_limited', 'rate_limited', 'too many clients, try again shortly');
      }
      bucket = new TokenBucket(perMinute / 60, burst);
      buckets.set(k, bucket);
    }
    if (!bucket.take()) throw new DomainError('rate_limited', 'rate_limited', 'too many requests, slow down');
    await next();
  };
}

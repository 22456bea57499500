import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The original's error body: `{"error":{"reason":"…","message":"…"}}`. */
export function apiError(
  ctx: Context,
  status: ContentfulStatusCode,
  reason: string,
  message: string,
): Response {
  return ctx.json({ error: { reason, message } }, status);
}

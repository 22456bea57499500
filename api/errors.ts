import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * An error with the original's body shape, `{"error":{"reason":"…","message":"…"}}`. Thrown anywhere in
 * a handler or a controller call; the app's error handler turns it into the response.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: ContentfulStatusCode;
  readonly reason: string;

  constructor(status: ContentfulStatusCode, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

export function apiError(
  ctx: Context,
  status: ContentfulStatusCode,
  reason: string,
  message: string,
): Response {
  return ctx.json({ error: { reason, message } }, status);
}

export const notFound = (what: string, message = `${what.replace(/_/g, ' ')} not found`) =>
  new ApiError(404, `${what}_not_found`, message);

export const forbidden = (reason = 'forbidden', message = 'not allowed') =>
  new ApiError(403, reason, message);

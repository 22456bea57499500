/**
 * Refusals on the wire: the one place a DomainError becomes an HTTP answer, in the original's body shape
 * `{"error":{"reason":"…","message":"…"}}`. The app's error handler (app.ts) sends every thrown
 * DomainError through here, so routes and services only throw.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { DomainError, ErrorKind } from '../common/errors.ts';

export const HTTP_STATUS: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  too_large: 413,
  unsupported: 415,
  rate_limited: 429,
  timeout: 504,
};

export function errorResponse(ctx: Context, error: DomainError): Response {
  return errorBody(ctx, HTTP_STATUS[error.kind], error.reason, error.message);
}

/** The body for answers that are not a refusal of the domain (hono's own errors, internal failures). */
export function errorBody(
  ctx: Context,
  status: ContentfulStatusCode,
  reason: string,
  message: string,
): Response {
  return ctx.json({ error: { reason, message } }, status);
}

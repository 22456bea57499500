/**
 * Request validation: every route declares its params, query and body with zod (which also feeds the
 * OpenAPI document); a request that does not match gets 400 naming the field.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { ApiEnv } from './env.ts';

type ValidationResult =
  | { success: true }
  | { success: false; error: { issues: z.core.$ZodIssue[] }; target?: string };

/** 400 `invalid_request` with the first bad field, e.g. `body.parent_id: Invalid UUID`. */
export function validationHook(
  result: ValidationResult,
  ctx: { json: (body: unknown, status: 400) => Response },
) {
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  const where = result.target === 'json' ? 'body' : (result.target ?? 'request');
  const path = [where, ...issue.path.map(String)].join('.');
  return ctx.json({ error: { reason: 'invalid_request', message: `${path}: ${issue.message}` } }, 400);
}

/** A route module's app: validation errors answered the same way everywhere. */
export function routes(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({ defaultHook: validationHook as never });
}

// Shared schemas.
/**
 * An id in 8-4-4-4-12 hex form, any version or variant: the original's ids include non-RFC ones (the
 * system user `00000000-…-000000000003`, MD5s written as UUIDs). Lowercased.
 */
export const umid = z
  .string()
  .regex(
    /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    'expected an id in 8-4-4-4-12 hex form',
  )
  .transform((s) => s.toLowerCase());

/** A JSON request or response body for a route definition. */
export const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
export const umidParam = (name: string) =>
  z.object({
    [name]: umid.openapi({ param: { name, in: 'path' }, example: '5e1f0d2c-7a41-4c39-9b1e-0d0000000001' }),
  });

/** `limit` query parameters: bounded numbers, never concatenated into anything. */
export const limitQuery = (max: number, fallback: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

export const vec3 = z.object({ x: z.number().finite(), y: z.number().finite(), z: z.number().finite() });
export const transformSchema = z.object({ position: vec3, rotation: vec3, scale: vec3 }).openapi('Transform');

export const errorSchema = z
  .object({ error: z.object({ reason: z.string(), message: z.string() }) })
  .openapi('Error');

/** Standard error responses for the OpenAPI document. */
export const errors = (...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 429 | 504)[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: ERROR_TEXT[s], content: { 'application/json': { schema: errorSchema } } },
    ]),
  );

const ERROR_TEXT = {
  400: 'invalid request',
  401: 'missing or invalid access token',
  403: 'not allowed',
  404: 'not found',
  409: 'conflict',
  413: 'body too large',
  429: 'rate limit',
  504: 'no peer delivered in time',
} as const;

export const bearer = [{ bearer: [] }];

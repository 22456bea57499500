/** Request schemas of the attribute routes. */
import { z } from '@hono/zod-openapi';
import { invalid } from '../../common/errors.ts';
import { umid } from '../validation.ts';

/** Names are parts of LevelDB keys, so they may not hold the key separator `!`. */
export const attributeName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, _ . - only, at most 128')
  .openapi({ example: 'name' });

export const subKey = z
  .string()
  .min(1)
  .max(256)
  .refine((k) => k !== '__proto__', 'reserved key');

const present = (schema: z.ZodType) =>
  schema.refine((v) => v !== undefined, 'Required') as z.ZodType<unknown>;

export const refSchema = z.object({
  plugin_id: umid.openapi({ example: 'f0f0f0f0-0f0f-4ff0-af0f-f0f0f0f0f0f0' }),
  attribute_name: attributeName,
});
export const subRefSchema = refSchema.extend({ sub_attribute_key: subKey });

export const valueBody = refSchema
  .extend({ attribute_value: z.record(z.string(), z.unknown()) })
  .openapi('AttributeValueBody');
export const subValueBody = subRefSchema
  .extend({ sub_attribute_value: present(z.unknown()) })
  .openapi('SubAttributeValueBody');

export const ref = (q: z.infer<typeof refSchema>) => ({ pluginId: q.plugin_id, name: q.attribute_name });

/**
 * DELETE takes its parameters from the query or from a JSON body (the original used one or the other per
 * family); body fields win. The body is read here rather than by the route's validator so that an empty
 * body sent with a JSON content type means "look in the query". Validated after merging, so a 400 still
 * names the field and where it was looked for.
 */
export async function deleteParams<S extends z.ZodType>(
  schema: S,
  req: { query(): Record<string, string>; text(): Promise<string> },
): Promise<z.infer<S>> {
  const text = (await req.text()).trim();
  let body: unknown = {};
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      throw invalid('invalid_request', 'body: not JSON');
    }
  }
  const fromBody = typeof body === 'object' && body !== null && Object.keys(body).length > 0;
  const result = schema.safeParse({ ...req.query(), ...(body as object) });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = [fromBody ? 'body' : 'query', ...issue.path.map(String)].join('.');
  throw invalid('invalid_request', `${where}: ${issue.message}`);
}

/** The DELETE body for the OpenAPI document only (a plain schema: the route does not validate it). */
export const deleteBodyDoc = (withSubKey: boolean) => ({
  required: false,
  content: {
    'application/json': {
      schema: {
        type: 'object' as const,
        properties: {
          plugin_id: { type: 'string' as const, format: 'uuid' },
          attribute_name: { type: 'string' as const },
          ...(withSubKey ? { sub_attribute_key: { type: 'string' as const } } : {}),
        },
      },
    },
  },
});

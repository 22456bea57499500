/**
 * Object storage routes: uploads (the general `POST /assets` and the original's 3D-asset and image
 * uploads), an asset's metadata, the listing, and for node admins garbage collection and which peers
 * hold an asset. Uploads stream
 * into the blockstore (api/multipart.ts); they are exempt from the JSON body limit and have per-kind
 * limits of their own, checked as the bytes arrive. The token check (api/app.ts) and the per-user upload
 * rate limit run before a byte of the body is read.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { DomainError, forbidden, invalid } from '../../common/errors.ts';
import {
  ASSET_KINDS,
  type AssetKind,
  isAssetKind,
  parseAssetRef,
  umidOf,
} from '../../node/assets/storage.ts';
import { assetDto, assetSchema, findAsset } from '../asset-dto.ts';
import type { ApiComponents, ApiEnv } from '../env.ts';
import { byUser, rateLimit } from '../middleware/rate-limit.ts';
import { streamUpload } from '../multipart.ts';
import { bearer, errorSchema, errors, json, limitQuery, routes } from '../validation.ts';
import { assetDownloadRoutes } from './asset-downloads.ts';

/** Public asset paths (under /api/v4): downloads and metadata, like the original's media routes. */
export const ASSET_PUBLIC = [/^\/assets\/(?!gc$)[^/]+(\/meta)?$/, /^\/media\/render\//];

/** Routes whose bodies are uploads: app.ts keeps the JSON body limit off them. */
export const UPLOAD_PATHS = ['/assets', '/assets-3d/upload', '/media/upload/image'];

/** How long `GET /assets/:id/providers` waits for peers' answers. */
const PROVIDERS_TIMEOUT_MS = 3_000;

/** Room for the multipart framing and the small fields around the file. */
const MULTIPART_OVERHEAD = 64 * 1024;

type FieldSchema = { type: 'string'; enum?: string[]; maxLength?: number; description?: string };

/**
 * A multipart/form-data body as the document shows it: the fields (in the order to send them) and the
 * binary file part last. A plain schema, not zod, on purpose: OpenAPIHono then adds no form validator,
 * which would read the whole body into memory before the handler; api/multipart.ts streams it instead.
 */
const multipart = (fields: Record<string, FieldSchema>, file: string) => ({
  required: true,
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object' as const,
        properties: { ...fields, [file]: { type: 'string' as const, format: 'binary' } },
        required: [file],
      },
    },
  },
});
const kindField = (kinds: readonly string[]): FieldSchema => ({ type: 'string', enum: [...kinds] });
const nameField: FieldSchema = {
  type: 'string',
  maxLength: 255,
  description: 'display name; default: the file name without its extension',
};
const kindQuery = z.enum(ASSET_KINDS).optional();
const errorBody = (description: string) => ({ description, ...json(errorSchema) });

/** The display name: the given one, else the file name without its folders and extension. */
function displayName(given: string | undefined, filename: string): string {
  if (given?.trim()) return given;
  const base = filename.split(/[\\/]/).pop() ?? '';
  return base.replace(/\.[^.]*$/, '');
}

export function assetRoutes(c: ApiComponents) {
  const app = routes();
  const limits = c.assets.limits;

  /**
   * Streams the part named `field` into the store as the route's fixed kind, else the kind the client
   * names (query or a field before the file), else the route's fallback, else the one sniffed.
   */
  const upload = async (
    ctx: Context<ApiEnv>,
    field: string,
    kinds: { fixed?: AssetKind; fallback?: AssetKind; allowed: readonly AssetKind[] },
  ) => {
    const { fixed, fallback, allowed } = kinds;
    const queryKind = ctx.req.query('kind');
    const claimedUpFront = fixed ?? queryKind;
    if (claimedUpFront !== undefined && !isAssetKind(claimedUpFront)) {
      throw invalid('invalid_request', `kind must be one of ${allowed.join(', ')}`);
    }
    // A body that announces itself too large is refused before a byte is read.
    const limit = claimedUpFront ? limits[claimedUpFront] : Math.max(...allowed.map((k) => limits[k]));
    const length = Number(ctx.req.header('content-length') ?? Number.NaN);
    if (length > limit + MULTIPART_OVERHEAD) {
      throw new DomainError('too_large', 'asset_too_large', `the upload is over the limit of ${limit} bytes`);
    }
    const user = ctx.get('user');
    // Before a byte of the body is read: may they upload at all, and does the announced size fit?
    const allowance = await c.uploadQuotas.begin(
      user,
      Number.isFinite(length) ? Math.max(0, length - MULTIPART_OVERHEAD) : 0,
    );
    let importing = false;
    try {
      return await streamUpload(ctx, field, async ({ stream, filename, fields }) => {
        const claimed = fixed ?? fields.kind ?? queryKind ?? fallback;
        if (claimed !== undefined && !(isAssetKind(claimed) && allowed.includes(claimed))) {
          throw invalid('invalid_request', `kind must be one of ${allowed.join(', ')}`);
        }
        // From here the import's own end settles the allowance: the request may be answered (a client
        // gone, a bad part after the file) while the importer is still winding down.
        importing = true;
        try {
          const result = await c.assets.import(allowance.meter(stream), {
            kind: claimed,
            name: displayName(fields.name, filename),
            uploader: user.id,
          });
          allowance.end(result.created ? result.record.size : 0);
          return { ...result, fields };
        } catch (e) {
          allowance.end();
          throw e;
        }
      });
    } finally {
      if (!importing) allowance.end();
    }
  };

  // Per user, on every upload route together; after the token check, before the body is read.
  const uploadLimit = rateLimit(c.config.uploadsPerMinute, c.config.uploadsPerMinute, byUser);
  const uploadErrors = (unsupported: string) => ({
    415: errorBody(unsupported),
    ...errors(400, 401, 403, 413, 429),
  });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/assets',
      tags: ['assets'],
      summary:
        'Upload an asset (multipart: `kind` and `name` before `file`). The CID is the checksum: the same bytes give the same asset',
      description: `Per-kind size limits: ${ASSET_KINDS.map((k) => `${k} ${limits[k]} bytes`).join(', ')}.`,
      security: bearer,
      middleware: uploadLimit,
      request: {
        query: z.object({ kind: kindQuery }),
        body: multipart({ kind: kindField(ASSET_KINDS), name: nameField }, 'file'),
      },
      responses: {
        201: { description: 'stored', ...json(assetSchema) },
        200: { description: 'already stored (same bytes)', ...json(assetSchema) },
        ...uploadErrors('the content is not of the claimed kind'),
      },
    }),
    async (ctx) => {
      const { record, created } = await upload(ctx, 'file', { allowed: ASSET_KINDS });
      return created ? ctx.json(assetDto(record), 201) : ctx.json(assetDto(record), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/assets-3d/upload',
      tags: ['assets'],
      summary: "The original's 3D asset upload (glTF binary or JSON); id = the asset's UMID",
      security: bearer,
      middleware: uploadLimit,
      request: {
        body: multipart(
          {
            name: nameField,
            preview_hash: { type: 'string' },
            is_private: { type: 'string', enum: ['true', 'false'] },
          },
          'asset',
        ),
      },
      responses: {
        202: {
          description: 'stored',
          ...json(
            z.object({
              id: z.string(),
              user_id: z.string(),
              is_private: z.boolean(),
              meta: z.record(z.string(), z.unknown()),
            }),
          ),
        },
        ...uploadErrors('not a glTF model'),
      },
    }),
    async (ctx) => {
      const { record, fields } = await upload(ctx, 'asset', { fixed: 'model', allowed: ['model'] });
      const meta: Record<string, unknown> = { name: record.name, type: 1, category: 'custom' };
      if (fields.preview_hash) meta.preview_hash = fields.preview_hash;
      return ctx.json(
        { id: record.umid, user_id: ctx.get('user').id, is_private: fields.is_private === 'true', meta },
        202,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/media/upload/image',
      tags: ['assets'],
      summary: "The original's image upload; hash = the CID. Unlike the original it needs a token",
      security: bearer,
      middleware: uploadLimit,
      request: { body: multipart({ kind: kindField(['image', 'texture', 'skybox']) }, 'file') },
      responses: {
        200: { description: 'stored', ...json(z.object({ hash: z.string() })) },
        ...uploadErrors('not a supported image'),
      },
    }),
    async (ctx) => {
      const { record } = await upload(ctx, 'file', {
        fallback: 'image',
        allowed: ['image', 'texture', 'skybox'],
      });
      return ctx.json({ hash: record.cid }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/assets',
      tags: ['assets'],
      summary: 'Assets in CID order, a page at a time (`next` is the `after` of the next page)',
      security: bearer,
      request: {
        query: z.object({
          limit: limitQuery(500, 100),
          after: z.string().max(200).optional(),
          kind: kindQuery,
          mine: z.enum(['true', 'false']).optional(),
        }),
      },
      responses: {
        200: {
          description: 'a page',
          ...json(z.object({ assets: z.array(assetSchema), next: z.string().optional() })),
        },
        ...errors(400, 401),
      },
    }),
    async (ctx) => {
      const q = ctx.req.valid('query');
      const page = await c.assets.list({
        limit: q.limit,
        after: q.after,
        kind: q.kind,
        uploader: q.mine === 'true' ? ctx.get('user').id : undefined,
      });
      return ctx.json({ assets: page.assets.map(assetDto), ...(page.next ? { next: page.next } : {}) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/assets/{assetID}/meta',
      tags: ['assets'],
      summary: "An asset's metadata, by CID or UMID (public)",
      request: {
        params: z.object({
          assetID: z
            .string()
            .max(200)
            .openapi({ param: { name: 'assetID', in: 'path' } }),
        }),
      },
      responses: { 200: { description: 'the asset', ...json(assetSchema) }, ...errors(400, 404) },
    }),
    async (ctx) => ctx.json(assetDto(await findAsset(c.assets, ctx.req.valid('param').assetID)), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/assets/{assetID}/providers',
      tags: ['assets'],
      summary:
        'Which connected trusted peers hold an asset, by CID or UMID: each is asked over the asset-record protocol, with an answer within 3 s (node admins)',
      security: bearer,
      request: {
        params: z.object({
          assetID: z
            .string()
            .max(200)
            .openapi({ param: { name: 'assetID', in: 'path' } }),
        }),
      },
      responses: {
        200: {
          description: 'this node and every trusted peer asked',
          ...json(
            z.object({
              umid: z.string(),
              local: z.boolean(),
              providers: z.array(z.string()),
              peers: z.array(
                z.object({ peer_id: z.string(), holds: z.boolean(), error: z.string().optional() }),
              ),
            }),
          ),
        },
        ...errors(400, 401, 403),
      },
    }),
    async (ctx) => {
      if (!c.access.isNodeAdmin(ctx.get('user')))
        throw forbidden('not_admin', 'only node admins may ask which peers hold an asset');
      const ref = parseAssetRef(ctx.req.valid('param').assetID);
      if (!ref) throw new DomainError('invalid', 'invalid_asset_id', 'expected a CID or an asset UMID');
      const umid = ref.cid ? umidOf(ref.cid) : ref.umid;
      const [local, answers] = await Promise.all([
        c.assets.resolve(ref),
        c.assetFetcher.providers(ref, PROVIDERS_TIMEOUT_MS),
      ]);
      return ctx.json(
        {
          umid,
          local: !!local,
          providers: answers.filter((a) => a.holds).map((a) => a.peer),
          peers: answers.map((a) => ({
            peer_id: a.peer,
            holds: a.holds,
            ...(a.error ? { error: a.error } : {}),
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/assets/gc',
      tags: ['assets'],
      summary:
        'Garbage-collect: unpin assets unreferenced for longer than the grace period, remove them and every block no pin covers (node admins)',
      security: bearer,
      responses: {
        200: {
          description: 'what was removed',
          ...json(z.object({ removed_assets: z.array(z.string()), removed_blocks: z.number().int() })),
        },
        ...errors(401, 403),
      },
    }),
    async (ctx) => {
      if (!c.access.isNodeAdmin(ctx.get('user')))
        throw forbidden('not_admin', 'only node admins may collect garbage');
      const report = await c.assetKeeper.gc();
      return ctx.json({ removed_assets: report.assets, removed_blocks: report.blocks }, 200);
    },
  );

  app.route('/', assetDownloadRoutes(c));
  return app;
}

/**
 * Asset downloads, public like the original's: `GET/HEAD /assets/{id}` and the original's render paths
 * (`/media/render/asset/<hash>` for GLBs by UMID without dashes, `/media/render/get/<hash>` for images).
 * Every path takes a CID or a UMID with or without dashes.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { CID } from 'multiformats/cid';
import { findAsset } from '../asset-dto.ts';
import { serveFile } from '../asset-http.ts';
import type { ApiComponents, ApiEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { errors, routes } from '../validation.ts';

const idParam = (name: string) =>
  z
    .string()
    .max(200)
    .openapi({
      param: { name, in: 'path' },
      example: 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e',
    });

const fileResponses = {
  200: { description: 'the file; ETag = the CID, cached as immutable' },
  206: { description: 'the requested byte range' },
  304: { description: 'not modified (If-None-Match)' },
  416: { description: 'the range is outside the file' },
  ...errors(400, 404),
};

export function assetDownloadRoutes(c: ApiComponents) {
  const app = routes();

  const send = async (ctx: Context<ApiEnv>, id: string) => {
    const record = await findAsset(c.assets, id);
    const cid = CID.parse(record.cid);
    return serveFile(ctx, {
      cid,
      size: record.size,
      mime: record.mime,
      read: (range) => c.assets.read(cid, range),
    });
  };

  const document = (path: string, summary: string, params: Record<string, z.ZodType>) => {
    for (const method of ['get', 'head'] as const) {
      app.openAPIRegistry.registerPath(
        createRoute({
          method,
          path,
          tags: ['assets'],
          summary,
          request: { params: z.object(params) },
          responses: fileResponses,
        }),
      );
    }
  };

  document('/assets/{assetID}', "An asset's bytes by CID or UMID; Range and HEAD supported (public)", {
    assetID: idParam('assetID'),
  });
  app.get('/assets/:assetID', (ctx) => send(ctx, ctx.req.param('assetID')));

  document('/media/render/asset/{hash}', "The original's 3D asset download (hash = UMID without dashes)", {
    hash: idParam('hash'),
  });
  app.get('/media/render/asset/:hash', (ctx) => send(ctx, ctx.req.param('hash')));

  document('/media/render/get/{hash}', "The original's image download (original size)", {
    hash: idParam('hash'),
  });
  app.get('/media/render/get/:hash', (ctx) => send(ctx, ctx.req.param('hash')));

  // Scaled sizes (s0…s9) are not produced yet: every size gets the original image, so the original's
  // clients still show something. The sizes and caching come with the image library (issue 6, later).
  document(
    '/media/render/texture/{size}/{hash}',
    "The original's scaled texture (for now: the original size)",
    {
      size: z.string().openapi({ param: { name: 'size', in: 'path' }, example: 's3' }),
      hash: idParam('hash'),
    },
  );
  app.get('/media/render/texture/:size/:hash', (ctx) => {
    if (!/^s[0-9]$/.test(ctx.req.param('size')))
      throw new ApiError(400, 'invalid_format', 'size must be s0…s9');
    return send(ctx, ctx.req.param('hash'));
  });
  return app;
}

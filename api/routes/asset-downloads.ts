/**
 * Asset downloads, public like the original's: `GET/HEAD /assets/{id}` and the original's render paths
 * (`/media/render/asset/<hash>` for GLBs by UMID without dashes, `/media/render/get/<hash>` for images).
 * Every path takes a CID or a UMID with or without dashes. An asset this node lacks is fetched from its
 * trusted peers as it is sent (504 `asset_fetch_timeout` when they do not deliver in time).
 */

import { createReadStream } from 'node:fs';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { CID } from 'multiformats/cid';
import { DomainError } from '../../common/errors.ts';
import { Renditions } from '../../node/assets/storage.ts';
import { findOrFetchAsset } from '../asset-dto.ts';
import { serveFile } from '../asset-http.ts';
import type { ApiComponents, ApiEnv } from '../env.ts';
import { errorSchema, errors, json, routes } from '../validation.ts';

const idParam = (name: string) =>
  z
    .string()
    .max(200)
    .openapi({
      param: { name, in: 'path' },
      example: 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e',
    });

const fileContent = {
  content: { '*/*': { schema: { type: 'string' as const, format: 'binary' } } },
  headers: {
    etag: { schema: { type: 'string' as const }, description: 'the CID, quoted' },
    'cache-control': {
      schema: { type: 'string' as const },
      description: 'public, max-age=31536000, immutable',
    },
  },
};
const fileResponses = {
  200: { description: 'the file; ETag = the CID, cached as immutable', ...fileContent },
  206: { description: 'the requested byte range', ...fileContent },
  304: { description: 'not modified (If-None-Match)' },
  416: { description: 'the range is outside the file' },
  ...errors(400, 404, 504),
};

/**
 * A download route for the document, GET or HEAD. Hono answers HEAD with the GET handler (and no body),
 * so only the GET is registered as a route; the HEAD is documented beside it.
 */
function fileRoute<P extends string, S extends z.ZodObject>(
  method: 'get' | 'head',
  path: P,
  summary: string,
  params: S,
  more: Record<number, { description: string }> = {},
) {
  return createRoute({
    method,
    path,
    tags: ['assets'],
    summary,
    request: { params },
    responses: { ...fileResponses, ...more },
  });
}

const sizeParam = z
  .enum(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9'])
  .openapi({ param: { name: 'size', in: 'path' }, example: 's3' });

export function assetDownloadRoutes(c: ApiComponents) {
  const app = routes();
  const log = c.logger.child({ component: 'assets' });

  const send = async (ctx: Context<ApiEnv>, id: string) => {
    const { record, remote } = await findOrFetchAsset(c.assets, c.assetFetcher, id);
    const cid = CID.parse(record.cid);
    return serveFile(
      ctx,
      {
        cid,
        size: record.size,
        mime: record.mime,
        read: (range) => (remote ? c.assetFetcher.read(cid, range) : c.assets.read(cid, range)),
        readLeased: remote ? undefined : (range) => c.assets.readPooled(cid, range),
      },
      log,
    );
  };

  /** Documents the GET and the HEAD of a path; returns the GET route to register. */
  const document = <P extends string, S extends z.ZodObject>(
    path: P,
    summary: string,
    params: S,
    more: Record<number, { description: string }> = {},
  ) => {
    app.openAPIRegistry.registerPath(fileRoute('head', path, summary, params, more));
    return fileRoute('get', path, summary, params, more);
  };

  const byAssetID = z.object({ assetID: idParam('assetID') });
  const byHash = z.object({ hash: idParam('hash') });

  app.openapi(
    document(
      '/assets/{assetID}',
      "An asset's bytes by CID or UMID; Range and HEAD supported (public)",
      byAssetID,
    ),
    (ctx) => send(ctx, ctx.req.valid('param').assetID),
  );
  app.openapi(
    document(
      '/media/render/asset/{hash}',
      "The original's 3D asset download (hash = UMID without dashes)",
      byHash,
    ),
    (ctx) => send(ctx, ctx.req.valid('param').hash),
  );
  app.openapi(
    document('/media/render/get/{hash}', "The original's image download (original size)", byHash),
    (ctx) => send(ctx, ctx.req.valid('param').hash),
  );

  // Made with sharp on first request and cached; formats it cannot decode (ktx2, hdr, exr) are sent as
  // they are. `x-width`/`x-height` as the original sent them.
  const texture = document(
    '/media/render/texture/{size}/{hash}',
    "The original's scaled texture: a PNG of at most sN's pixel count (s0 1024 … s9 14745600), never enlarged",
    z.object({ size: sizeParam, hash: idParam('hash') }),
    { 415: { description: 'an image that does not decode', ...json(errorSchema) } },
  );
  app.openapi(texture, async (ctx) => {
    const { size, hash } = ctx.req.valid('param');
    const { record, remote } = await findOrFetchAsset(c.assets, c.assetFetcher, hash);
    // An image still on its way from peers is sent as it is; scaled once it is here (pinned by reference).
    if (remote || !Renditions.scalable(record)) return send(ctx, record.cid);
    const cid = CID.parse(record.cid);
    const png = await c.assets.renditions.get(record, cid, size).catch((e: Error) => {
      // The first bytes said PNG/JPEG/WebP/GIF, the rest does not decode (or is over sharp's pixel limit).
      throw new DomainError(
        'unsupported',
        'unsupported_media_type',
        `the image cannot be scaled: ${e.message}`,
      );
    });
    return serveFile(
      ctx,
      {
        cid,
        tag: `${record.cid}.${size}`,
        size: png.size,
        mime: 'image/png',
        headers: { 'x-width': String(png.width), 'x-height': String(png.height) },
        read: ({ offset, length }) => createReadStream(png.path, { start: offset, end: offset + length - 1 }),
      },
      log,
    );
  });
  return app;
}

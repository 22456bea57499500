/**
 * `GET/HEAD /ipfs/{cid}`: an IPFS HTTP gateway over this node's blockstore, so any IPFS tool can fetch
 * and verify assets from a node. Trustless formats (`Accept: application/vnd.ipld.raw` or `?format=raw`
 * for one block, `application/vnd.ipld.car` or `?format=car` for the whole DAG as CARv1), and the plain
 * file otherwise. Local blocks only: a CID this node does not have is 404, never fetched from elsewhere.
 */
import type { Context } from 'hono';
import { CID } from 'multiformats/cid';
import { DomainError, notFound } from '../../common/errors.ts';
import { CAR_CONTENT_TYPE, carStream } from '../../storage/assets/car.ts';
import { parseCid } from '../../storage/assets/ids.ts';
import { IMMUTABLE, serveFile, streamBody } from '../asset-http.ts';
import type { ApiComponents } from '../env.ts';
import { routes } from '../validation.ts';

type Format = 'raw' | 'car' | 'file';

/** `format` wins over `Accept`, as the spec says. */
function formatOf(ctx: Context): Format {
  const format = ctx.req.query('format');
  if (format === 'raw' || format === 'car') return format;
  if (format) throw new DomainError('invalid', 'invalid_request', 'format must be raw or car');
  const accept = ctx.req.header('accept') ?? '';
  if (accept.includes('application/vnd.ipld.raw')) return 'raw';
  if (accept.includes('application/vnd.ipld.car')) return 'car';
  return 'file';
}

export function gatewayRoutes(c: ApiComponents) {
  const app = routes();
  const ipfs = c.assets.ipfs;
  const log = c.logger.child({ component: 'gateway' });

  app.get('/ipfs/:cid', async (ctx) => {
    const text = ctx.req.param('cid');
    const parsed = parseCid(text);
    if (!parsed) throw new DomainError('invalid', 'invalid_cid', 'expected a CID');
    // Keep the version the client asked for: the CAR root and the raw block's CID are theirs.
    const cid = CID.parse(text);
    const format = formatOf(ctx);
    const common = { 'cache-control': IMMUTABLE, 'x-content-type-options': 'nosniff', vary: 'Accept' };
    const head = ctx.req.method === 'HEAD';

    if (format === 'raw') {
      const block = await ipfs.block(cid);
      if (!block) throw notFound('block_not_found', 'block not found');
      const headers = {
        ...common,
        'content-type': 'application/vnd.ipld.raw',
        'content-disposition': `attachment; filename="${text}.bin"`,
        'content-length': String(block.length),
        etag: `"${text}.raw"`,
      };
      return new Response(head ? null : block, { status: 200, headers });
    }

    if (format === 'car') {
      // Spec: 404 when the root block is missing; a missing child later ends the stream early.
      if (!(await ipfs.blocks.has(cid))) throw notFound('block_not_found', 'block not found');
      const scope = ctx.req.query('dag-scope') ?? 'all';
      if (!['all', 'entity', 'block'].includes(scope)) {
        throw new DomainError('invalid', 'invalid_request', 'dag-scope must be all, entity or block');
      }
      const headers = {
        ...common,
        'content-type': CAR_CONTENT_TYPE,
        'content-disposition': `attachment; filename="${text}.car"`,
        'accept-ranges': 'none',
        etag: `"${text}.car${scope === 'block' ? '.block' : ''}"`,
      };
      if (head) return new Response(null, { status: 200, headers });
      const car = () => carStream(cid, (block) => ipfs.block(block), scope === 'block');
      return new Response(streamBody(ctx, car, log), { status: 200, headers });
    }

    const record = await c.assets.get(parsed.toString());
    if (!record && !(await ipfs.blocks.has(cid))) throw notFound('block_not_found', 'block not found');
    let size = record?.size;
    if (size === undefined) {
      const stat = await ipfs.fs.stat(cid, { offline: true });
      if (stat.type === 'directory')
        throw new DomainError('invalid', 'invalid_request', 'directories are not served');
      size = Number(stat.size);
    }
    return serveFile(
      ctx,
      {
        cid,
        size,
        mime: record?.mime ?? 'application/octet-stream',
        read: (range) => ipfs.fs.cat(cid, { ...range, offline: true }),
      },
      log,
    );
  });

  return app;
}

/**
 * `GET/HEAD /ipfs/{cid}`: an IPFS HTTP gateway over this node's blockstore, so any IPFS tool can fetch
 * and verify assets from a node. Trustless formats (`Accept: application/vnd.ipld.raw` or `?format=raw`
 * for one block, `application/vnd.ipld.car` or `?format=car` for the whole DAG as CARv1), and the plain
 * file otherwise. Blocks this node lacks are fetched from its trusted peers over bitswap (checked against
 * their CIDs); when none delivers within `--asset-fetch-timeout-ms`, 504 `asset_fetch_timeout`; with no
 * trusted peer connected, 404 at once.
 */
import type { Context } from 'hono';
import { CID } from 'multiformats/cid';
import { DomainError, invalid, notFound } from '../../common/errors.ts';
import { CAR_CONTENT_TYPE, carStream, parseCid } from '../../node/assets/storage.ts';
import { IMMUTABLE, serveFile, streamBody } from '../asset-http.ts';
import type { ApiComponents } from '../env.ts';
import { routes } from '../validation.ts';

type Format = 'raw' | 'car' | 'file';

/** `format` wins over `Accept`, as the spec says. */
function formatOf(ctx: Context): Format {
  const format = ctx.req.query('format');
  if (format === 'raw' || format === 'car') return format;
  if (format) throw invalid('invalid_request', 'format must be raw or car');
  const accept = ctx.req.header('accept') ?? '';
  if (accept.includes('application/vnd.ipld.raw')) return 'raw';
  if (accept.includes('application/vnd.ipld.car')) return 'car';
  return 'file';
}

export function gatewayRoutes(c: ApiComponents) {
  const app = routes();
  const ipfs = c.assets.ipfs;
  const log = c.logger.child({ component: 'gateway' });
  const timeoutMs = c.config.assetFetchTimeoutMs;

  /**
   * A block, local or from peers within the timeout: 504 when none arrives, 404 at once when no trusted
   * peer is connected (nobody could deliver it).
   */
  const block = async (cid: CID): Promise<Uint8Array> => {
    const local = await ipfs.block(cid);
    if (local) return local;
    if (!c.assetFetcher.canFetch()) throw notFound('block_not_found', 'block not found');
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await ipfs.fetchBlock(cid, signal);
    } catch (e) {
      // Whatever the error is called on the way out, an expired signal means nobody delivered in time.
      if (signal.aborted)
        throw new DomainError(
          'timeout',
          'asset_fetch_timeout',
          `no peer delivered ${cid} within ${timeoutMs} ms`,
        );
      throw e;
    }
  };

  app.get('/ipfs/:cid', async (ctx) => {
    const text = ctx.req.param('cid');
    const parsed = parseCid(text);
    if (!parsed) throw invalid('invalid_cid', 'expected a CID');
    // Keep the version the client asked for: the CAR root and the raw block's CID are theirs.
    const cid = CID.parse(text);
    const format = formatOf(ctx);
    const common = { 'cache-control': IMMUTABLE, 'x-content-type-options': 'nosniff', vary: 'Accept' };
    const head = ctx.req.method === 'HEAD';

    if (format === 'raw') {
      const bytes = await block(cid);
      const headers = {
        ...common,
        'content-type': 'application/vnd.ipld.raw',
        'content-disposition': `attachment; filename="${text}.bin"`,
        'content-length': String(bytes.length),
        etag: `"${text}.raw"`,
      };
      return new Response(head ? null : bytes, { status: 200, headers });
    }

    if (format === 'car') {
      // The root must be here or arrive in time (504); a child that does not arrive later cuts the stream.
      await block(cid);
      const scope = ctx.req.query('dag-scope') ?? 'all';
      if (!['all', 'entity', 'block'].includes(scope)) {
        throw invalid('invalid_request', 'dag-scope must be all, entity or block');
      }
      const headers = {
        ...common,
        'content-type': CAR_CONTENT_TYPE,
        'content-disposition': `attachment; filename="${text}.car"`,
        'accept-ranges': 'none',
        etag: `"${text}.car${scope === 'block' ? '.block' : ''}"`,
      };
      if (head) return new Response(null, { status: 200, headers });
      const car = () =>
        carStream(cid, (child) => ipfs.fetchBlock(child, AbortSignal.timeout(timeoutMs)), scope === 'block');
      return new Response(streamBody(ctx, car, log), { status: 200, headers });
    }

    const record = await c.assets.get(parsed.toString());
    let size = record?.size;
    if (size === undefined) {
      await block(cid);
      const stat = await ipfs.fs.stat(cid, { offline: true });
      if (stat.type === 'directory') throw invalid('invalid_request', 'directories are not served');
      size = Number(stat.size);
    }
    return serveFile(
      ctx,
      {
        cid,
        size,
        mime: record?.mime ?? 'application/octet-stream',
        // Blocks missing here (a file served before it is pinned) come from peers, each within the timeout.
        read: (range) => (record ? c.assets.read(cid, range) : c.assetFetcher.read(cid, range)),
        readLeased: record ? (range) => c.assets.readPooled(cid, range) : undefined,
      },
      log,
    );
  });

  return app;
}

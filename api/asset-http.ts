/**
 * Serving immutable content-addressed bytes over HTTP: ETag = the CID, cached forever, single byte
 * ranges (206/416), HEAD, If-None-Match. The body streams from the blockstore; only the blocks a range
 * needs are read.
 */
import type { Context } from 'hono';
import type { CID } from 'multiformats/cid';
import type { Logger } from 'pino';
import { type LeasedChunk, type NodeEnv, offerDirectBody } from './direct-body.ts';

export const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * A `Range` header against a size: the range, 'unsatisfiable' (→ 416), or undefined when the header is
 * absent or not a single bytes range (then the whole body is sent, as RFC 9110 allows).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    // bytes=-N: the last N bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

export interface FileSource {
  cid: CID;
  /** The ETag's value when it is not the CID itself (a rendition of it). */
  tag?: string;
  /** More response headers. */
  headers?: Record<string, string>;
  size: number;
  mime: string;
  /** Reads [offset, offset+length) of the file. */
  read(range: { offset: number; length: number }): AsyncIterable<Uint8Array>;
  /**
   * As `read`, in lent buffers, for a body written straight to the Node response (`direct-body.ts`):
   * local files only; bytes from peers keep the web stream.
   */
  readLeased?(range: { offset: number; length: number }): AsyncIterable<LeasedChunk>;
}

/**
 * A response body pulled from `open()`'s iterable, which is only opened on the first read: a client gone
 * before the body starts (the HTTP server then cancels it unread) leaves no file or iterator open. A
 * client gone mid-body returns the iterator (closing what it holds). A source failing mid-body is logged
 * and cuts the connection: the status and part of the body are out, and ending the body normally (or with
 * an error text, as the server's fallback would) would make a truncated file or CAR look complete.
 */
export function streamBody(
  ctx: Context,
  open: () => AsyncIterable<Uint8Array>,
  log: Logger,
): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          iterator ??= open()[Symbol.asyncIterator]();
          const next = await iterator.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          log.warn({ err: error, path: ctx.req.path }, 'response body failed mid-stream; connection cut');
          (ctx.env as NodeEnv | undefined)?.outgoing?.destroy();
          controller.close();
        }
      },
      async cancel() {
        await iterator?.return?.().catch(() => {});
      },
    },
    // No read ahead of the consumer: with the default (1) the stream pulls once as soon as it is made,
    // opening the source (and reading a leaf) even for a body that is sent another way or never.
    { highWaterMark: 0 },
  );
}

/** The file (or the requested range of it) with caching headers; HEAD gets the headers only. */
export function serveFile(ctx: Context, file: FileSource, log: Logger): Response {
  const etag = `"${file.tag ?? file.cid.toString()}"`;
  const headers: Record<string, string> = {
    'content-type': file.mime,
    etag,
    'cache-control': IMMUTABLE,
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
    ...file.headers,
  };
  if (matchesEtag(ctx.req.header('if-none-match'), etag)) return new Response(null, { status: 304, headers });
  // If-Range with another validator means "the whole thing": an immutable CID only ever matches itself.
  const ifRange = ctx.req.header('if-range');
  const range = ifRange && ifRange !== etag ? undefined : parseRange(ctx.req.header('range'), file.size);
  if (range === 'unsatisfiable') {
    const body = { error: { reason: 'range_not_satisfiable', message: `the file has ${file.size} bytes` } };
    return new Response(JSON.stringify(body), {
      status: 416,
      headers: { 'content-type': 'application/json', 'content-range': `bytes */${file.size}` },
    });
  }
  const start = range?.start ?? 0;
  const length = range ? range.end - range.start + 1 : file.size;
  headers['content-length'] = String(length);
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${file.size}`;
  const status = range ? 206 : 200;
  if (ctx.req.method === 'HEAD' || length === 0) return new Response(null, { status, headers });
  const stream = streamBody(ctx, () => exactly(file.read({ offset: start, length }), length), log);
  const { readLeased } = file;
  if (readLeased) {
    offerDirectBody(ctx.env as NodeEnv | undefined, {
      stream,
      length,
      open: () => readLeased({ offset: start, length }),
      log,
      path: ctx.req.path,
    });
  }
  return new Response(stream, { status, headers });
}

/**
 * The source's bytes, failing (which cuts the connection) when it yields fewer or more than the
 * Content-Length announced: a DAG that does not hold the record's size must not look like a whole file.
 */
async function* exactly(source: AsyncIterable<Uint8Array>, length: number): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of source) {
    sent += chunk.length;
    if (sent > length) throw new Error(`the file has more than the ${length} bytes announced`);
    yield chunk;
  }
  if (sent < length) throw new Error(`the file ended after ${sent} of the ${length} bytes announced`);
}

/**
 * Streaming multipart uploads. The body is parsed by busboy straight from the Node request (what
 * @hono/node-server hands in as `env.incoming`), and the file part is given to the caller as a stream
 * while it arrives: a 500 MB upload needs no 500 MB of memory and no temp file.
 *
 * Fields sent before the file are seen by the handler; fields after it are ignored (browsers send
 * FormData parts in the order they were appended, so append `kind` and `name` before `file`).
 */
import type { IncomingMessage } from 'node:http';
import { finished, Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import type { Context } from 'hono';
import { ApiError } from './errors.ts';

export interface FilePart {
  stream: Readable;
  /** The client's file name: display text only, never a path. */
  filename: string;
  /** Fields that came before the file. */
  fields: Record<string, string>;
}

/** The request body as a Node stream: the raw request when served by Node, else the fetch body. */
function bodyOf(ctx: Context): Readable {
  const incoming = (ctx.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return incoming;
  const body = ctx.req.raw.body;
  if (!body) throw new ApiError(400, 'file_missing', 'the request has no body');
  return Readable.fromWeb(body as NodeReadableStream<Uint8Array>);
}

/**
 * Reads the multipart body and runs `handle` on the part named `field` as soon as it starts. Resolves
 * with handle's result once the body is read; rejects as soon as handle fails (the rest of the body is
 * then drained, bounded, by the HTTP server), or with 400 when the body is not multipart, ends early or
 * has no such part.
 */
export function streamUpload<T>(
  ctx: Context,
  field: string,
  handle: (part: FilePart) => Promise<T>,
): Promise<T> {
  const contentType = ctx.req.header('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new ApiError(400, 'invalid_request', 'expected a multipart/form-data body');
  }
  const body = bodyOf(ctx);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      limits: { files: 1, fields: 20, parts: 30, fieldSize: 4096, fieldNameSize: 100 },
    });
  } catch (e) {
    throw new ApiError(400, 'invalid_request', (e as Error).message);
  }
  return new Promise<T>((resolve, reject) => {
    const fields: Record<string, string> = {};
    let task: Promise<T> | undefined;
    let file: Readable | undefined;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      body.unpipe(parser);
      // The importer may still be reading: end its stream so that it stops and lets go.
      file?.destroy(error instanceof Error ? error : new Error(String(error)));
      reject(error);
    };
    parser.on('field', (name, value) => {
      if (!task) fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== field || task) {
        stream.resume();
        return;
      }
      file = stream;
      task = handle({ stream, filename: info.filename ?? '', fields: { ...fields } });
      task.catch(fail);
    });
    parser.on('close', () => {
      if (!task) return fail(new ApiError(400, 'file_missing', `no file part named ${field}`));
      task.then((result) => {
        settled = true;
        resolve(result);
      }, fail);
    });
    parser.on('error', (e) =>
      fail(new ApiError(400, 'invalid_request', `bad multipart body: ${(e as Error).message}`)),
    );
    // A client that goes away mid-upload must not leave the import waiting for bytes forever.
    finished(body, (err) => {
      if (err) fail(new ApiError(400, 'upload_aborted', 'the upload ended early'));
    });
    body.pipe(parser);
  });
}

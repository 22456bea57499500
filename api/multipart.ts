/**
 * Streaming multipart uploads. The body is parsed by busboy straight from the Node request (what
 * @hono/node-server hands in as `env.incoming`), and the file part is given to the caller as a stream
 * while it arrives: a 500 MB upload needs no 500 MB of memory and no temp file.
 *
 * Fields sent before the file are seen by the handler; fields after it are ignored (browsers send
 * FormData parts in the order they were appended, so append `kind` and `name` before `file`).
 *
 * The file's stream only ends once the whole body has been parsed: a body cut off after the file part
 * (no closing boundary) fails the upload like one cut off inside it, so a half-sent form never commits.
 */
import type { IncomingMessage } from 'node:http';
import { finished, Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import type { Context } from 'hono';
import { DomainError, invalid } from '../common/errors.ts';

export interface FilePart {
  /** The file's bytes; it fails with a DomainError when the body turns out malformed or cut off. */
  stream: AsyncIterable<Uint8Array>;
  /** The client's file name: display text only, never a path. */
  filename: string;
  /** Fields that came before the file. */
  fields: Record<string, string>;
}

/** What one multipart body may hold. */
export const MULTIPART_LIMITS = { files: 1, fields: 20, parts: 30, fieldSize: 4096, fieldNameSize: 100 };

/** The request body as a Node stream: the raw request when served by Node, else the fetch body. */
function bodyOf(ctx: Context): Readable {
  const incoming = (ctx.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return incoming;
  const body = ctx.req.raw.body;
  if (!body) throw invalid('file_missing', 'the request has no body');
  return Readable.fromWeb(body as NodeReadableStream<Uint8Array>);
}

const malformed = (e: unknown) => {
  const detail = (e as Error).message;
  const cutOff = /^Unexpected end of (form|file)$/.test(detail);
  return invalid(
    'malformed_multipart',
    cutOff ? 'the multipart body ends early (no closing boundary)' : `bad multipart body: ${detail}`,
  );
};

/**
 * The file part's bytes, then — before the stream ends — the end of the whole body. A stream error is
 * the parser's (its message says why) or ours (fail() destroys the stream with the DomainError it rejects
 * with); either way the importer sees a DomainError and aborts.
 */
async function* partBytes(stream: Readable, bodyParsed: Promise<void>): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (e) {
    throw e instanceof DomainError ? e : malformed(e);
  }
  await bodyParsed;
}

/**
 * Reads the multipart body and runs `handle` on the part named `field` as soon as it starts. Resolves
 * with handle's result once the body is read; rejects as soon as handle fails (the rest of the body is
 * then drained, bounded, by the HTTP server), with 400 when the body is not multipart, is malformed, ends
 * early or has no such part, and with 413 when it has more parts than MULTIPART_LIMITS allows.
 */
export function streamUpload<T>(
  ctx: Context,
  field: string,
  handle: (part: FilePart) => Promise<T>,
): Promise<T> {
  const contentType = ctx.req.header('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw invalid('invalid_request', 'expected a multipart/form-data body');
  }
  const body = bodyOf(ctx);
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, limits: MULTIPART_LIMITS });
  } catch (e) {
    throw invalid('invalid_request', (e as Error).message);
  }
  return new Promise<T>((resolve, reject) => {
    const fields: Record<string, string> = {};
    let task: Promise<T> | undefined;
    let file: Readable | undefined;
    let settled = false;
    let bodyDone: (error?: unknown) => void = () => {};
    const bodyParsed = new Promise<void>((ok, ko) => {
      bodyDone = (error) => (error === undefined ? ok() : ko(error));
    });
    // Awaited by the file's stream only once it has read the file; never an unhandled rejection.
    bodyParsed.catch(() => {});
    const fail = (error: unknown) => {
      bodyDone(error);
      if (settled) return;
      settled = true;
      body.unpipe(parser);
      // The importer may still be reading: end its stream so that it stops and lets go.
      file?.destroy(error instanceof Error ? error : new Error(String(error)));
      reject(error);
    };
    const tooMany = (what: string, limit: number) =>
      fail(
        new DomainError(
          'too_large',
          `too_many_${what}`,
          `a multipart body may have at most ${limit} ${what}`,
        ),
      );
    parser.on('partsLimit', () => tooMany('parts', MULTIPART_LIMITS.parts));
    parser.on('fieldsLimit', () => tooMany('fields', MULTIPART_LIMITS.fields));
    parser.on('filesLimit', () => tooMany('files', MULTIPART_LIMITS.files));
    parser.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) {
        fail(invalid('field_too_large', `field ${JSON.stringify(name.slice(0, 100))} is too long`));
      }
      if (!task) fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      // Busboy destroys a file stream with an error when the body breaks off; until the importer reads
      // it (after awaits of its own), nothing else listens, and an unheard 'error' ends the process.
      stream.on('error', () => {});
      if (name !== field || task) {
        stream.resume();
        return;
      }
      file = stream;
      task = handle({
        stream: partBytes(stream, bodyParsed),
        filename: info.filename ?? '',
        fields: { ...fields },
      });
      task.catch(fail);
    });
    parser.on('finish', () => bodyDone());
    parser.on('close', () => {
      if (!task) return fail(invalid('file_missing', `no file part named ${field}`));
      task.then((result) => {
        settled = true;
        resolve(result);
      }, fail);
    });
    parser.on('error', (e) => fail(malformed(e)));
    // A client that goes away mid-upload must not leave the import waiting for bytes forever.
    finished(body, (err) => {
      if (err) fail(invalid('upload_aborted', 'the upload ended early'));
    });
    body.pipe(parser);
  });
}

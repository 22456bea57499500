/**
 * Streaming multipart uploads. The body is read straight from the Node request (what @hono/node-server
 * hands in as `env.incoming`) by our own parser (multipart-parser.ts), and the file part is given to the
 * caller as a stream while it arrives: a 500 MB upload needs no 500 MB of memory and no temp file. The
 * body is read only as fast as the caller reads the file (backpressure: nothing is read ahead but the
 * socket's own buffers).
 *
 * Fields sent before the file are seen by the handler; fields after it are counted against the limits
 * but otherwise ignored (browsers send FormData parts in the order they were appended, so append `kind`
 * and `name` before `file`).
 *
 * The file's stream only ends once the whole body has been parsed: a body cut off after the file part
 * (no closing boundary) fails the upload like one cut off inside it, so a half-sent form never commits.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Context } from 'hono';
import { DomainError, invalid } from '../common/errors.ts';
import { type MultipartEvent, MultipartParser } from './multipart-parser.ts';
import { boundaryOf, type PartHeaders } from './part-headers.ts';

export interface FilePart {
  /** The file's bytes; it fails with a DomainError when the body turns out malformed or cut off. */
  stream: AsyncIterable<Uint8Array>;
  /** The client's file name: display text only, never a path. */
  filename: string;
  /** The part's media type as the client gave it (lower case), if any: a claim, not a fact. */
  contentType?: string;
  /** Fields that came before the file. */
  fields: Record<string, string>;
}

/**
 * What one multipart body may hold: file parts, other fields, parts in all, bytes of a field's value
 * and name, bytes of one part's header block, and bytes before the first and after the last boundary.
 */
export const MULTIPART_LIMITS = {
  files: 1,
  fields: 20,
  parts: 30,
  fieldSize: 4096,
  fieldNameSize: 100,
  headerBytes: 16 * 1024,
  framingBytes: 4096,
};

/** The request body as a Node stream: the raw request when served by Node, else the fetch body. */
function bodyOf(ctx: Context): Readable {
  const incoming = (ctx.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return incoming;
  const body = ctx.req.raw.body;
  if (!body) throw invalid('file_missing', 'the request has no body');
  return Readable.fromWeb(body as NodeReadableStream<Uint8Array>);
}

/**
 * Reads the multipart body and runs `handle` on the part named `field` as soon as it starts. Resolves
 * with handle's result once the body is read; rejects as soon as handle fails (the rest of the body is
 * then left unread, and the HTTP server closes the connection after the answer), with 400 when the body
 * is not multipart, is malformed, ends early or has no such part, and with 413 when it has more parts
 * than MULTIPART_LIMITS allows.
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
  const boundary = boundaryOf(contentType);
  return readUpload(bodyOf(ctx), boundary, field, handle);
}

/** streamUpload over any readable body with a known boundary. */
export async function readUpload<T>(
  body: Readable,
  boundary: string,
  field: string,
  handle: (part: FilePart) => Promise<T>,
): Promise<T> {
  const form = new FormReader(body, boundary, field);
  const file = await form.untilFile();
  let result: T;
  try {
    result = await handle({
      stream: form.fileBytes(),
      filename: file.filename ?? '',
      ...(file.contentType ? { contentType: file.contentType } : {}),
      fields: { ...form.fields },
    });
  } catch (e) {
    // The body's own fault comes first: the importer may have turned it into an error of its own.
    throw form.failure ?? e;
  }
  // A handler that stopped reading early still gets its answer only for a complete, well-formed body.
  await form.rest();
  return result;
}

const tooMany = (what: string, limit: number) =>
  new DomainError('too_large', `too_many_${what}`, `a multipart body may have at most ${limit} ${what}`);

/** The multipart body as events, with the limits on parts, fields and files applied as they come. */
class FormReader {
  /** No prototype: a field named `__proto__` is just a field. */
  readonly fields: Record<string, string> = Object.create(null);
  /** The first error the body caused, as thrown to whoever was reading. */
  failure: DomainError | undefined;
  private readonly parser: MultipartParser;
  private readonly chunks: AsyncIterator<Buffer>;
  private readonly field: string;
  private events: MultipartEvent[] = [];
  private next = 0;
  private ended = false;
  private parts = 0;
  private fieldCount = 0;
  private files = 0;

  constructor(body: Readable, boundary: string, field: string) {
    this.parser = new MultipartParser(boundary, MULTIPART_LIMITS);
    this.field = field;
    // Left unread rather than destroyed when we stop early: the server still has to answer on it.
    this.chunks = body.iterator({ destroyOnReturn: false });
  }

  /** The next event, or undefined once the body is complete; throws the body's first fault. */
  private async event(): Promise<MultipartEvent | undefined> {
    if (this.failure) throw this.failure;
    try {
      while (this.next === this.events.length) {
        if (this.ended) return undefined;
        let step: IteratorResult<Buffer>;
        try {
          step = await this.chunks.next();
        } catch {
          throw invalid('upload_aborted', 'the upload ended early');
        }
        if (step.done) {
          this.ended = true;
          this.parser.end();
          this.events = [];
        } else {
          this.events = this.parser.push(step.value);
        }
        this.next = 0;
      }
      return this.events[this.next++];
    } catch (e) {
      this.failure = e instanceof DomainError ? e : invalid('malformed_multipart', String(e));
      void this.chunks.return?.();
      throw this.failure;
    }
  }

  /** Reads up to the file part named `field`, keeping the fields before it. */
  async untilFile(): Promise<PartHeaders> {
    for (let e = await this.event(); e; e = await this.event()) {
      if (e.kind !== 'part') continue;
      const wanted = await this.part(e.headers);
      if (wanted) return e.headers;
    }
    throw invalid('file_missing', `no file part named ${this.field}`);
  }

  /**
   * The file's bytes up to its part's end, then the rest of the body (fields after it are checked
   * against the limits): the stream ends only when the body is known to be whole.
   */
  async *fileBytes(): AsyncGenerator<Uint8Array> {
    for (let e = await this.event(); e?.kind === 'data'; e = await this.event()) yield e.bytes;
    await this.rest();
  }

  /** The rest of the body, each part checked and dropped. */
  async rest(): Promise<void> {
    for (let e = await this.event(); e; e = await this.event()) {
      if (e.kind === 'part' && (await this.part(e.headers))) {
        throw this.fail(tooMany('files', MULTIPART_LIMITS.files)); // unreachable with one file allowed
      }
    }
  }

  /**
   * Counts a part against the limits and reads it unless it is the wanted file: a field's value is
   * kept, another file is skipped. True when it is the wanted file (its bytes are next).
   */
  private async part(headers: PartHeaders): Promise<boolean> {
    const limits = MULTIPART_LIMITS;
    if (++this.parts > limits.parts) throw this.fail(tooMany('parts', limits.parts));
    const isFile = headers.filename !== undefined || headers.contentType === 'application/octet-stream';
    if (isFile) {
      if (++this.files > limits.files) throw this.fail(tooMany('files', limits.files));
      if (headers.name === this.field) return true;
      // Any other file part dooms the upload (one file only); read a little of it to tell which way.
      await this.skip(limits.fieldSize, () =>
        invalid(
          'file_missing',
          `the file part is named ${JSON.stringify(headers.name.slice(0, 100))}, not ${this.field}`,
        ),
      );
      return false;
    }
    if (++this.fieldCount > limits.fields) throw this.fail(tooMany('fields', limits.fields));
    const tooLong = () =>
      invalid('field_too_large', `field ${JSON.stringify(headers.name.slice(0, 100))} is too long`);
    if (Buffer.byteLength(headers.name) > limits.fieldNameSize) throw this.fail(tooLong());
    const value = await this.skip(limits.fieldSize, tooLong);
    this.fields[headers.name] = value.toString('utf8'); // a repeated field: the last one counts
    return false;
  }

  /** A part's bytes (at most `max`, else the error of `over`), to its end. */
  private async skip(max: number, over: () => DomainError): Promise<Buffer> {
    const bytes: Buffer[] = [];
    let size = 0;
    for (let e = await this.event(); e?.kind === 'data'; e = await this.event()) {
      size += e.bytes.length;
      if (size > max) throw this.fail(over());
      bytes.push(e.bytes);
    }
    return Buffer.concat(bytes, size);
  }

  private fail(error: DomainError): DomainError {
    this.failure ??= error;
    void this.chunks.return?.();
    return error;
  }
}

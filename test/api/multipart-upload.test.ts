/**
 * `readUpload` over real Node streams: the limits on parts and fields, a file under another name, a
 * body that breaks off, a handler that fails, and backpressure (a 200 MB body is read only as fast as the
 * handler reads the file).
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type FilePart, MULTIPART_LIMITS, readUpload } from '../../api/multipart.ts';
import { DomainError } from '../../common/errors.ts';

const B = 'XX';
const field = (name: string, value: string) =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const fileHead = (name: string, filename = 'a.bin') =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n\r\n`;
const close = `\r\n--${B}--\r\n`;

/** What the handler saw: fields, file name and bytes. */
async function collect(part: FilePart) {
  const bytes: Buffer[] = [];
  for await (const chunk of part.stream) bytes.push(Buffer.from(chunk));
  return { fields: { ...part.fields }, filename: part.filename, data: Buffer.concat(bytes).toString() };
}

const upload = <T = Awaited<ReturnType<typeof collect>>>(
  body: string | Buffer[],
  handle: (part: FilePart) => Promise<T> = collect as (part: FilePart) => Promise<T>,
) => readUpload(Readable.from(typeof body === 'string' ? [Buffer.from(body)] : body), B, 'file', handle);

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    return { kind: e.kind, reason: e.reason, message: e.message };
  }
  throw new Error('accepted');
}

describe('a well-formed body', () => {
  it('gives the fields before the file, the file name and its bytes', async () => {
    const body =
      field('kind', 'model') +
      field('name', 'Chair') +
      fileHead('file', 'C:\\x\\chair.glb') +
      'glTF…' +
      close;
    expect(await upload(body)).toEqual({
      fields: { kind: 'model', name: 'Chair' },
      filename: 'chair.glb',
      data: 'glTF…',
    });
  });

  it('ignores fields after the file but still counts them', async () => {
    const after = Array.from({ length: MULTIPART_LIMITS.fields }, (_, i) => field(`f${i}`, 'v')).join('');
    const ok = `${fileHead('file')}x\r\n${after.slice(0, -2)}${close}`;
    expect((await upload(ok)).fields).toEqual({});
    const over = `${fileHead('file')}x\r\n${after}${field('one', 'more').slice(0, -2)}${close}`;
    expect(await refusal(upload(over))).toMatchObject({ kind: 'too_large', reason: 'too_many_fields' });
  });

  it('treats a field named __proto__ as a field', async () => {
    const result = await upload(`${field('__proto__', 'p')}${fileHead('file')}x${close}`);
    expect(Object.getPrototypeOf(result.fields)).toBe(Object.prototype);
    expect(Object.keys(result.fields)).toEqual(['__proto__']);
  });
});

describe('hostile bodies', () => {
  it.each([
    [
      'a body cut off inside the file',
      `${fileHead('file')}hello`,
      'invalid',
      'malformed_multipart',
      /ends early/,
    ],
    [
      'a body cut off after the file',
      `${fileHead('file')}hello\r\n--${B}\r\nContent-Disp`,
      'invalid',
      'malformed_multipart',
      /ends early/,
    ],
    [
      'no file part',
      `${field('kind', 'model').slice(0, -2)}${close}`,
      'invalid',
      'file_missing',
      /no file part named file/,
    ],
    [
      'a second file',
      `${fileHead('file')}x\r\n${fileHead('other')}y${close}`,
      'too_large',
      'too_many_files',
      /at most 1 files/,
    ],
    [
      'a file under another name first',
      `${fileHead('other')}y\r\n${fileHead('file')}x${close}`,
      'too_large',
      'too_many_files',
      /at most 1 files/,
    ],
    [
      'a big file under another name',
      `${fileHead('other')}${'y'.repeat(5000)}${close}`,
      'invalid',
      'file_missing',
      /named "other", not file/,
    ],
    [
      'a field over the size limit',
      `${field('name', 'n'.repeat(4097))}${fileHead('file')}x${close}`,
      'invalid',
      'field_too_large',
      /"name" is too long/,
    ],
    [
      'a field name over the limit',
      `${field('n'.repeat(101), 'v')}${fileHead('file')}x${close}`,
      'invalid',
      'field_too_large',
      /too long/,
    ],
    [
      'more fields than allowed',
      `${Array.from({ length: 21 }, (_, i) => field(`f${i}`, 'v')).join('')}${fileHead('file')}x${close}`,
      'too_large',
      'too_many_fields',
      /20 fields/,
    ],
    [
      'bytes after the closing delimiter over the limit',
      `${fileHead('file')}x${close}${'e'.repeat(5000)}`,
      'invalid',
      'malformed_multipart',
      /after the closing boundary/,
    ],
    [
      'LF-only lines',
      `${fileHead('file')}x${close}`.replaceAll('\r\n', '\n'),
      'invalid',
      'malformed_multipart',
      /line break/,
    ],
  ])('%s: %s %s', async (_, body, kind, reason, message) => {
    const seen: string[] = [];
    const res = await refusal(
      upload(body, async (part) => {
        seen.push((await collect(part)).data);
        return 'stored';
      }),
    );
    expect(res).toMatchObject({ kind, reason });
    expect(res.message).toMatch(message);
    expect(seen).toEqual([]); // the handler never saw a whole file
  });

  it('refuses an empty body as ending early', async () => {
    expect(await refusal(upload([]))).toMatchObject({
      reason: 'malformed_multipart',
      message: expect.stringMatching(/ends early/),
    });
  });

  it('says the upload ended early when the body stream fails', async () => {
    const body = new Readable({ read() {} });
    body.push(Buffer.from(`${fileHead('file')}partial`));
    const pending = refusal(readUpload(body, B, 'file', collect));
    await sleep(10);
    body.destroy(new Error('aborted'));
    expect(await pending).toMatchObject({ kind: 'invalid', reason: 'upload_aborted' });
  });

  it("answers with the body's fault even when the handler turns it into its own error", async () => {
    const res = await refusal(
      upload(`${fileHead('file')}hello`, async (part) => {
        try {
          await collect(part);
        } catch {
          throw new Error('importer aborted');
        }
        return 'stored';
      }),
    );
    expect(res.reason).toBe('malformed_multipart');
  });

  it("rejects with the handler's own error, leaving the request undestroyed", async () => {
    const body = Readable.from([Buffer.from(`${fileHead('file')}x`), Buffer.from(close)]);
    const res = await refusal(
      readUpload(body, B, 'file', async () => {
        throw new DomainError('unsupported', 'not_a_model', 'no');
      }),
    );
    expect(res.reason).toBe('not_a_model');
    expect(body.destroyed).toBe(false); // the server still answers on it
  });
});

describe('backpressure', () => {
  it('reads a 200 MB body only as fast as the handler reads the file', async () => {
    const size = 200 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let produced = 0;
    // A body produced on demand, as a socket delivers it: one 64 KiB chunk per read.
    const body = new Readable({
      read() {
        if (produced === 0) this.push(Buffer.from(fileHead('file')));
        if (produced >= size) {
          this.push(Buffer.from(close));
          this.push(null);
          return;
        }
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const ahead: number[] = [];
    const received = await readUpload(body, B, 'file', async ({ stream }) => {
      let consumed = 0;
      for await (const bytes of stream) {
        consumed += bytes.length;
        // Now and then the handler is slow (a disk write): the body must wait for it.
        if (consumed % (32 * 1024 * 1024) < bytes.length) {
          await sleep(20);
          ahead.push(produced - consumed);
        }
      }
      return consumed;
    });
    expect(received).toBe(size);
    expect(ahead.length).toBeGreaterThan(4);
    // Read ahead of the handler: at most the stream's buffer and a chunk or two, never megabytes.
    expect(Math.max(...ahead)).toBeLessThan(512 * 1024);
  });
});

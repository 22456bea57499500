/**
 * The multipart framing parser on its own: any chunking of a body gives the same parts, a delimiter
 * split at any offset is still found, part bytes are the arriving chunks' own memory, and malformed
 * framing is refused with a clear 400 error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FramingLimits, MultipartParser } from '../../api/multipart-parser.ts';
import { boundaryOf, parsePartHeaders } from '../../api/part-headers.ts';
import { DomainError } from '../../common/errors.ts';

const LIMITS: FramingLimits = { headerBytes: 1024, framingBytes: 256 };

interface Part {
  name: string;
  filename?: string;
  data: Buffer;
}

/** A body as a client writes it: each part's headers, its bytes, the closing delimiter. */
function bodyOf(boundary: string, parts: Part[], opts: { preamble?: string; epilogue?: string } = {}) {
  const pieces: Buffer[] = [Buffer.from(opts.preamble ?? '')];
  for (const part of parts) {
    const file = part.filename === undefined ? '' : `; filename="${part.filename}"`;
    pieces.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${file}\r\n\r\n`),
      part.data,
      Buffer.from('\r\n'),
    );
  }
  pieces.push(Buffer.from(`--${boundary}--${opts.epilogue ?? '\r\n'}`));
  return Buffer.concat(pieces);
}

/** The parts a parser finds in `chunks`, each part's bytes joined. */
function parse(boundary: string, chunks: Buffer[], limits = LIMITS): Part[] {
  const parser = new MultipartParser(boundary, limits);
  const parts: Part[] = [];
  let open: { part: Part; bytes: Buffer[] } | undefined;
  for (const chunk of chunks) {
    for (const event of parser.push(chunk)) {
      if (event.kind === 'part') {
        expect(open).toBeUndefined();
        const { name, filename } = event.headers;
        open = {
          part: { name, ...(filename === undefined ? {} : { filename }), data: Buffer.alloc(0) },
          bytes: [],
        };
      } else if (event.kind === 'data') open?.bytes.push(event.bytes);
      else if (open) {
        open.part.data = Buffer.concat(open.bytes);
        parts.push(open.part);
        open = undefined;
      }
    }
  }
  parser.end();
  return parts;
}

/** `body` cut at the given offsets (sorted, deduplicated). */
function cut(body: Buffer, offsets: number[]): Buffer[] {
  const edges = [...new Set([0, ...offsets.map((o) => o % (body.length + 1)), body.length])].sort(
    (a, b) => a - b,
  );
  return edges.slice(1).map((end, i) => body.subarray(edges[i], end));
}

const reasonOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof DomainError ? `${e.kind}:${e.reason}:${e.message}` : `not a DomainError: ${e}`;
  }
  return undefined;
};

describe('any chunking of a valid body', () => {
  // Bytes that look like framing: CR, LF, dashes and pieces of the boundary, so that partial delimiters
  // show up at chunk edges and inside the data.
  const boundaryArb = fc.stringMatching(/^[A-Za-z0-9'()+_,\-./:=?]{1,30}$/);
  const dataArb = (boundary: string) =>
    fc
      .array(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc.constantFrom(
            '\r',
            '\n',
            '\r\n',
            '-',
            '--',
            `\r\n-`,
            `\r\n--`,
            `--${boundary}`,
            `\r\n--${boundary.slice(0, -1)}`,
          ),
        ),
        { maxLength: 12 },
      )
      .map((pieces) =>
        Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))),
      )
      // A body never holds its own delimiter: clients pick a boundary that is not in the data.
      .filter((data) => !Buffer.concat([data, Buffer.from('\r\n')]).includes(`\r\n--${boundary}`));
  const caseArb = boundaryArb.chain((boundary) =>
    fc.record({
      boundary: fc.constant(boundary),
      parts: fc.array(
        fc.record({
          name: fc.stringMatching(/^[a-z]{1,8}$/),
          filename: fc.option(fc.stringMatching(/^[a-z.]{1,8}$/), { nil: undefined }),
          data: dataArb(boundary),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      cuts: fc.array(fc.nat(), { maxLength: 20 }),
    }),
  );

  it('parses to the same parts, whole or in random pieces', () => {
    fc.assert(
      fc.property(caseArb, ({ boundary, parts, cuts }) => {
        const body = bodyOf(boundary, parts);
        // toEqual takes a missing filename and `filename: undefined` alike.
        const whole = parse(boundary, [body]);
        expect(whole).toEqual(parts);
        expect(parse(boundary, cut(body, cuts))).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any cut-off prefix of a body as ending early, however it is chunked', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), ({ boundary, parts, cuts }, end) => {
        const body = bodyOf(boundary, parts, { epilogue: '' });
        const prefix = body.subarray(0, end % body.length);
        expect(reasonOf(() => parse(boundary, cut(prefix, cuts)))).toMatch(/ends early/);
      }),
      { numRuns: 200 },
    );
  });

  it('finds a delimiter split across two chunks at every offset, and in one-byte chunks', () => {
    const boundary = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
    const parts: Part[] = [
      { name: 'kind', data: Buffer.from('model') },
      { name: 'file', filename: 'a.glb', data: Buffer.from('glTF\r\n--\r\n-- not a boundary\r') },
    ];
    const body = bodyOf(boundary, parts);
    for (let at = 0; at <= body.length; at++) {
      expect(parse(boundary, [body.subarray(0, at), body.subarray(at)])).toEqual(parts);
    }
    expect(parse(boundary, cut(body, [...body.keys()]))).toEqual(parts);
  });
});

describe('part bytes', () => {
  it('are subarrays of the chunks they arrived in, with no copy unless a delimiter may straddle', () => {
    const boundary = 'b0undary';
    const file = Buffer.alloc(100_000, 7);
    const body = bodyOf(boundary, [{ name: 'file', filename: 'x', data: file }]);
    const chunks = cut(body, [30_000, 60_000]);
    const parser = new MultipartParser(boundary, LIMITS);
    const data: Buffer[] = [];
    for (const chunk of chunks) {
      for (const e of parser.push(chunk)) {
        if (e.kind === 'data') {
          expect(e.bytes.buffer).toBe(chunk.buffer);
          data.push(e.bytes);
        }
      }
    }
    parser.end();
    expect(Buffer.concat(data).equals(file)).toBe(true);
  });
});

describe('malformed framing is refused (400 malformed_multipart)', () => {
  const file = (boundary: string) =>
    bodyOf(boundary, [{ name: 'file', filename: 'a', data: Buffer.from('hi') }]);
  const refusal = (boundary: string, body: Buffer | string, limits = LIMITS) =>
    reasonOf(() => parse(boundary, [Buffer.from(body)], limits));

  it.each([
    ['a body cut off inside the file', file('XX').subarray(0, 70), /ends early/],
    ['a body without its closing delimiter', file('XX').subarray(0, file('XX').length - 6), /ends early/],
    ['bare LF lines', file('XX').toString().replaceAll('\r\n', '\n'), /line break/],
    [
      'LF after a boundary',
      '--XX\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--XX--',
      /line break/,
    ],
    [
      'a boundary followed by more boundary characters',
      '--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--XXY\r\n',
      /line break/,
    ],
    [
      'a body that never names its boundary',
      `${'x'.repeat(300)}`,
      /more than 256 bytes before the first boundary/,
    ],
    [
      'part headers over the limit',
      `--XX\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${'p'.repeat(1100)}\r\n\r\nv\r\n--XX--`,
      /part headers over 1024 bytes/,
    ],
    [
      'bytes after the closing delimiter over the limit',
      `--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--XX--\r\n${'e'.repeat(300)}`,
      /after the closing boundary/,
    ],
    [
      'a part without Content-Disposition',
      '--XX\r\nContent-Type: text/plain\r\n\r\nv\r\n--XX--',
      /no Content-Disposition/,
    ],
    ['a part without headers', '--XX\r\n\r\nv\r\n--XX--', /no Content-Disposition/],
    [
      'a header line without a colon',
      '--XX\r\nContent-Disposition form-data\r\n\r\nv\r\n--XX--',
      /malformed part header/,
    ],
    [
      'a part that is not form-data',
      '--XX\r\nContent-Disposition: attachment; name="a"\r\n\r\nv\r\n--XX--',
      /not form-data/,
    ],
    [
      'a part without a name',
      '--XX\r\nContent-Disposition: form-data; filename="a"\r\n\r\nv\r\n--XX--',
      /no field name/,
    ],
    [
      'an unterminated quoted name',
      '--XX\r\nContent-Disposition: form-data; name="a\r\n\r\nv\r\n--XX--',
      /Content-Disposition parameters/,
    ],
    [
      'a bare CR in a header',
      '--XX\r\nContent-Disposition: form-data; name="a"\rX: y\r\n\r\nv\r\n--XX--',
      /bare line break/,
    ],
  ])('%s', (_, body, message) => {
    expect(refusal('XX', body)).toMatch(new RegExp(`^invalid:malformed_multipart:.*${message.source}`));
  });

  it('refuses oversized headers however they arrive, without waiting for their end', () => {
    const parser = new MultipartParser('XX', LIMITS);
    parser.push(Buffer.from('--XX\r\nContent-Disposition: form-data; name="a"\r\n'));
    expect(() => {
      for (let i = 0; i < 2000; i++) parser.push(Buffer.from('p'));
    }).toThrow(/part headers over 1024 bytes/);
  });
});

describe('what a valid body may also hold', () => {
  const parts = (body: string) => parse('XX', [Buffer.from(body)]);

  it('ignores a short preamble and epilogue, and takes padding after a boundary', () => {
    const body = bodyOf('XX', [{ name: 'a', data: Buffer.from('v') }], {
      preamble: 'ignore me\r\n',
      epilogue: '\r\nbye\r\n',
    });
    expect(parse('XX', [body])).toEqual([{ name: 'a', data: Buffer.from('v') }]);
    expect(parts('--XX \t\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--XX--')).toEqual([
      { name: 'a', data: Buffer.from('v') },
    ]);
  });

  it('takes a closing delimiter with nothing after it, and empty parts', () => {
    expect(parts('--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n--XX--')).toEqual([
      { name: 'a', data: Buffer.alloc(0) },
    ]);
  });

  it('reads Content-Disposition and Content-Type as clients write them', () => {
    const headers = (text: string) => parsePartHeaders(Buffer.from(text));
    expect(headers('content-disposition: form-data; name="a b"; filename="C:\\dir\\x.png"')).toEqual({
      name: 'a b',
      filename: 'x.png',
    });
    expect(
      headers(
        'Content-Disposition: Form-Data;name=plain;filename=one.glb\r\nContent-Type: Model/GLTF-Binary; x=1',
      ),
    ).toEqual({
      name: 'plain',
      filename: 'one.glb',
      contentType: 'model/gltf-binary',
    });
    expect(headers('Content-Disposition: form-data; name="q\\"uote"; filename="a/b/../c.txt"')).toEqual({
      name: 'q"uote',
      filename: 'c.txt',
    });
    expect(
      headers(
        'Content-Disposition: form-data; name=f; filename="fallback"; filename*=UTF-8\'\'%E2%82%AC%20rates.txt',
      ),
    ).toEqual({
      name: 'f',
      filename: '€ rates.txt',
    });
    expect(headers('Content-Disposition: form-data; name="f"; filename="Zoë.png"')).toEqual({
      name: 'f',
      filename: 'Zoë.png',
    });
  });
});

describe('the boundary of the Content-Type', () => {
  it.each([
    ['multipart/form-data; boundary=XX', 'XX'],
    ['multipart/form-data; boundary="quoted: ok"', 'quoted: ok'],
    ['multipart/form-data; charset=utf-8; BOUNDARY=----WebKitFormBoundaryabc', '----WebKitFormBoundaryabc'],
  ])('%s', (type, boundary) => {
    expect(boundaryOf(type)).toBe(boundary);
  });

  it.each([
    ['multipart/form-data;', /names no boundary/],
    ['multipart/form-data; charset=utf-8', /names no boundary/],
    ['multipart/form-data; boundary=', /malformed parameters/],
    ['multipart/form-data; boundary="unterminated', /malformed parameters/],
    [`multipart/form-data; boundary=${'b'.repeat(71)}`, /1 to 70/],
    ['multipart/form-data; boundary="ends in space "', /1 to 70/],
    ['multipart/form-data; boundary="has\\"quote"', /1 to 70/],
  ])('refuses %s with 400 invalid_request', (type, message) => {
    expect(reasonOf(() => boundaryOf(type))).toMatch(
      new RegExp(`^invalid:invalid_request:.*${message.source}`),
    );
  });
});

/**
 * Multipart framing through a real node: a missing or garbage boundary, oversized part headers, bare
 * LF lines and bytes after the closing delimiter are refused with a clear 400 that stores nothing; a
 * body whose delimiters arrive split across writes is stored byte for byte.
 */
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type ErrorBody } from '../support/http.ts';
import { type Guest, guest, startNode, type TestNode } from '../support/node.ts';
import { countBlocks, glb, independentCid } from './support.ts';

let node: TestNode;
let user: Guest;

beforeAll(async () => {
  node = await startNode();
  user = await guest(node);
});
afterAll(() => node.cleanup());

const BOUNDARY = 'frame-test-boundary';
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
const head = (extra = '') =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="m.glb"\r\n${extra}\r\n`;
const close = `\r\n--${BOUNDARY}--\r\n`;

/** POSTs `pieces` as separate writes (a pause between them, so they arrive as separate reads). */
function post(pieces: Buffer[], contentType = TYPE, pauseMs = 0) {
  return new Promise<{ status: number; body: ErrorBody & { id?: string } }>((resolve, reject) => {
    const req = request(`${node.url}/api/v4/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': contentType },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      res.on('error', reject);
    });
    req.socket?.setNoDelay(true);
    (async () => {
      for (const piece of pieces) {
        req.write(piece);
        if (pauseMs) await sleep(pauseMs);
      }
      req.end();
    })().catch(reject);
  });
}

async function myAssets(): Promise<unknown[]> {
  const list = await call<{ assets: unknown[] }>(node, 'GET', '/api/v4/assets?mine=true', {
    token: user.token,
  });
  return list.body.assets;
}

describe('malformed framing: 400, nothing stored, node alive', () => {
  const file = Buffer.from(glb(2000, 'framing'));
  it.each([
    ['no boundary parameter', 'multipart/form-data; charset=utf-8', [head(), file, close], 'invalid_request'],
    [
      'a garbage boundary',
      `multipart/form-data; boundary=${'b'.repeat(80)}`,
      [head(), file, close],
      'invalid_request',
    ],
    [
      'a boundary the body never uses',
      'multipart/form-data; boundary=other',
      [head(), file, close],
      'malformed_multipart',
    ],
    [
      'part headers over 16 KiB',
      TYPE,
      [head(`X-Pad: ${'p'.repeat(17_000)}\r\n`), file, close],
      'malformed_multipart',
    ],
    [
      'bare LF lines',
      TYPE,
      [head().replaceAll('\r\n', '\n'), file, close.replaceAll('\r\n', '\n')],
      'malformed_multipart',
    ],
    [
      'a boundary run on into other bytes',
      TYPE,
      [head(), file, `\r\n--${BOUNDARY}junk\r\n`],
      'malformed_multipart',
    ],
    [
      '5 KB after the closing delimiter',
      TYPE,
      [head(), file, close, 'e'.repeat(5000)],
      'malformed_multipart',
    ],
  ])('%s', async (_, type, pieces, reason) => {
    const blocks = await countBlocks(node);
    const res = await post(
      pieces.map((p) => Buffer.from(p)),
      type,
    );
    expect([res.status, res.body.error?.reason]).toEqual([400, reason]);
    expect(res.body.error?.message).toMatch(/boundary|header|line break|before|after/);
    expect((await call<{ status: string }>(node, 'GET', '/health')).status).toBe(200);
    expect(await myAssets()).toEqual([]);
    expect(await countBlocks(node)).toBe(blocks);
  });
});

describe('valid framing', () => {
  it('takes a short epilogue and a preamble, as RFC 2046 allows', async () => {
    const data = Buffer.from(glb(3000, 'epilogue'));
    const res = await post([Buffer.from(`preamble\r\n${head()}`), data, Buffer.from(`${close}epilogue\r\n`)]);
    expect(res.status).toBe(201);
    expect(
      (
        await call<{ cid: string }>(
          node,
          'GET',
          `/api/v4/assets/${(await independentCid(data)).toString()}/meta`,
        )
      ).status,
    ).toBe(200);
  });

  it('stores the file byte for byte when every delimiter arrives split across writes', async () => {
    const data = Buffer.from(glb(300_000, 'split-delimiters'));
    const body = Buffer.concat([
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\nsplit\r\n`),
      Buffer.from(head()),
      data,
      Buffer.from(close),
    ]);
    // Cut inside the first boundary, the field's delimiter, the file's header and its closing delimiter.
    const delimiters = [
      3,
      body.indexOf(`\r\n--${BOUNDARY}`) + 5,
      body.indexOf('\r\n\r\n', 80) + 2,
      body.length - 9,
      body.length - 3,
    ];
    const pieces = [0, ...delimiters, body.length]
      .slice(1)
      .map((end, i, ends) => body.subarray(i === 0 ? 0 : (ends[i - 1] ?? 0), end));
    const res = await post(pieces, TYPE, 20);
    expect(res.status).toBe(201);
    const cid = (await independentCid(data)).toString();
    const meta = await call<{ name: string; size: number }>(node, 'GET', `/api/v4/assets/${cid}/meta`);
    expect([meta.body.name, meta.body.size]).toEqual(['split', data.length]);
  });
});

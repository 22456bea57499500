/**
 * Hostile multipart bodies on every upload route: cut off before or after the file part, too many parts.
 * The node must answer a clear error, store nothing and keep serving.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cutOffAfterFilePart,
  cutOffFilePart,
  MULTIPART_TYPE,
  manyFieldsThenFile,
  manyFilesThenFile,
} from '../fixtures/hostile-multipart.ts';
import { call, type ErrorBody, reason } from '../support/http.ts';
import { type Guest, guest, startNode, type TestNode } from '../support/node.ts';
import { countBlocks, glb, png, upload } from './support.ts';

let node: TestNode;
let user: Guest;

beforeAll(async () => {
  node = await startNode();
  user = await guest(node);
});
afterAll(() => node.cleanup());

/** Each upload route with the part it reads, any name the client may give the file, and content it accepts. */
const ROUTES = [
  { path: '/assets', field: 'file', content: '{"asset":{"version":"2.0"}, "n": 1}' },
  { path: '/assets', field: 'anything', content: '{"asset":{"version":"2.0"}, "n": 2}' },
  { path: '/assets-3d/upload', field: 'asset', content: '{"asset":{"version":"2.0"}, "n": 3}' },
  { path: '/assets-3d/upload', field: 'other', content: '{"asset":{"version":"2.0"}, "n": 4}' },
  { path: '/media/upload/image', field: 'file', content: 'GIF89a one' },
  { path: '/media/upload/image', field: 'x', content: 'GIF89a two' },
];

async function post(path: string, body: string, token = user.token) {
  const res = await fetch(`${node.url}/api/v4${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': MULTIPART_TYPE },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as ErrorBody };
}

async function myAssets(): Promise<unknown[]> {
  const list = await call<{ assets: unknown[] }>(node, 'GET', '/api/v4/assets?mine=true', {
    token: user.token,
  });
  return list.body.assets;
}

async function expectAlive() {
  const health = await call<{ status: string }>(node, 'GET', '/health');
  expect([health.status, health.body.status]).toEqual([200, 'ok']);
}

describe('a multipart body cut off', () => {
  it.each(ROUTES)(
    'inside the file part ($path, part $field): 400, nothing stored, node alive',
    async ({ path, field }) => {
      const blocks = await countBlocks(node);
      const res = await post(path, cutOffFilePart(field));
      expect(res.status).toBe(400);
      expect(res.body.error.reason).toBe('malformed_multipart');
      expect(res.body.error.message).toMatch(/ends early|end of form/i);
      await expectAlive();
      expect(await myAssets()).toEqual([]);
      expect(await countBlocks(node)).toBe(blocks);
    },
  );

  it.each(ROUTES)(
    'after a complete file part ($path, part $field): 400 and no record',
    async ({ path, field, content }) => {
      const res = await post(path, cutOffAfterFilePart(field, content));
      expect([res.status, res.body.error.reason]).toEqual([400, 'malformed_multipart']);
      await expectAlive();
      expect(await myAssets()).toEqual([]);
    },
  );
});

describe('too many parts', () => {
  it('refuses more fields than allowed with 413 too_many_fields, not file_missing', async () => {
    const res = await post('/assets', manyFieldsThenFile(25, 'file', '{"asset":{}}'));
    expect([res.status, res.body.error.reason]).toEqual([413, 'too_many_fields']);
    expect(res.body.error.message).toMatch(/20 fields/);
    expect(await myAssets()).toEqual([]);
  });

  it('refuses more file parts than allowed with 413 too_many_files', async () => {
    const res = await post('/assets', manyFilesThenFile(1, 'file', '{"asset":{}}'));
    expect([res.status, res.body.error.reason]).toEqual([413, 'too_many_files']);
    expect(await myAssets()).toEqual([]);
  });

  it('still takes a well-formed body with fields up to the limit', async () => {
    const res = await post('/assets', manyFieldsThenFile(20, 'file', '{"asset":{"version":"2.0"}}'));
    expect(res.status).toBe(201);
    await expectAlive();
    expect(reason(await call(node, 'GET', '/api/v4/users/me', { token: user.token }))).toBeUndefined();
  });
});

/** Sends the start of a body that announces `announced` bytes, then drops the connection. */
function disconnectMidBody(path: string, contentType: string, start: string, announced: number) {
  return new Promise<void>((resolve) => {
    const req = request(`${node.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${user.token}`,
        'content-type': contentType,
        'content-length': String(announced),
      },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(start, () => setTimeout(() => req.destroy(), 50));
  });
}

describe('a client that disconnects mid-body', () => {
  it.each(ROUTES.filter((r) => r.field === 'file' || r.field === 'asset'))(
    'on $path: the node stays up, nothing is recorded, and uploads still work',
    async ({ path, field, content }) => {
      const head = `--XX\r\nContent-Disposition: form-data; name="${field}"; filename="a"\r\n\r\n${content}`;
      const before = (await myAssets()).length;
      await disconnectMidBody(`/api/v4${path}`, MULTIPART_TYPE, head, 1_000_000);
      await expectAlive();
      expect(await myAssets()).toHaveLength(before);
      const seed = `after-disconnect-${path}`;
      const data = path === '/assets-3d/upload' ? glb(3000, seed) : png(3000, seed);
      const fine = await upload(node, user.token, data, { path, field });
      expect(fine.status).toBeLessThan(300);
    },
  );

  it('on a JSON route: the node stays up', async () => {
    await disconnectMidBody('/api/v4/worlds', 'application/json', '{"name":"half', 10_000);
    await expectAlive();
  });
});

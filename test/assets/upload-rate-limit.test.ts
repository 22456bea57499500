/** The per-user upload rate limit (`uploadsPerMinute`): one budget for every upload route, per user. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../node/config.ts';
import { call, reason } from '../support/http.ts';
import { guest, startNode, type TestNode } from '../support/node.ts';
import { countBlocks, glb, png, upload } from './support.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startNode({ uploadsPerMinute: 3 });
});
afterAll(() => node.cleanup());

describe('upload rate limit', () => {
  it('defaults to 30 a minute', () => {
    expect(loadConfig({}).uploadsPerMinute).toBe(30);
  });

  it('refuses a user past the limit with 429 before reading the body; other users keep their own budget', async () => {
    const a = await guest(node);
    const b = await guest(node);
    // One budget across the three upload routes.
    expect((await upload(node, a.token, png(3000, 'rl-1'))).status).toBe(201);
    expect(
      (await upload(node, a.token, glb(3000, 'rl-2'), { path: '/assets-3d/upload', field: 'asset' })).status,
    ).toBe(202);
    expect((await upload(node, a.token, png(3000, 'rl-3'), { path: '/media/upload/image' })).status).toBe(
      200,
    );

    const blocks = await countBlocks(node);
    // Several chunks: had the body been read, blocks would have been written.
    const refused = await upload(node, a.token, glb(600_000, 'rl-4'));
    expect([refused.status, (refused.body as { error?: { reason: string } }).error?.reason]).toEqual([
      429,
      'rate_limited',
    ]);
    expect(await countBlocks(node)).toBe(blocks);
    const mine = await call<{ assets: unknown[] }>(node, 'GET', '/api/v4/assets?mine=true', {
      token: a.token,
    });
    expect(mine.body.assets).toHaveLength(3);

    // Reads are not uploads: still allowed.
    expect((await call(node, 'GET', '/api/v4/assets', { token: a.token })).status).toBe(200);
    // B has a budget of its own.
    const other = await upload(node, b.token, png(3000, 'rl-5'));
    expect(other.status).toBe(201);
    expect(other.body.uploader_id).toBe(b.id);
    // And a refused user's token is still good elsewhere.
    const me = await call(node, 'GET', '/api/v4/users/me', { token: a.token });
    expect([me.status, reason(me)]).toEqual([200, undefined]);
  });
});

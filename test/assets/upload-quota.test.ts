/**
 * Upload quotas per user (`guestUploadQuotaMb`, `userUploadQuotaMb`, node admins unlimited), counted in
 * bytes stored on the user's behalf: a duplicate costs nothing, a refused upload leaves no record, the
 * usage is in /users/me and survives a restart, and concurrent uploads cannot overspend.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../node/config.ts';
import { assetTables } from '../../storage/assets/asset-store.ts';
import { Database } from '../../storage/db/database.ts';
import { randomWallet, walletUser } from '../api/world-fixtures.ts';
import { BOUNDARY, MULTIPART_TYPE } from '../fixtures/hostile-multipart.ts';
import { call, reason } from '../support/http.ts';
import { type Guest, guest, startNode, type TestNode } from '../support/node.ts';
import { countBlocks, glb, png, upload } from './support.ts';

const MIB = 1024 * 1024;
const ADMIN_WALLET = randomWallet();

interface Me {
  id: string;
  uploads: { usedBytes: number; quotaBytes: number | null };
}

const me = async (node: TestNode, token: string) =>
  (await call<Me>(node, 'GET', '/api/v4/users/me', { token })).body.uploads;

const mine = async (node: TestNode, token: string) =>
  (await call<{ assets: { cid: string }[] }>(node, 'GET', '/api/v4/assets?mine=true', { token })).body.assets;

/** A multipart upload sent chunked, without Content-Length: the node only learns the size as bytes pass. */
async function streamedUpload(node: TestNode, token: string, data: Uint8Array, path = '/assets') {
  const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n`;
  const parts = [Buffer.from(head), data, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)];
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const part = parts.shift();
      if (!part) return controller.close();
      for (let i = 0; i < part.length; i += 64 * 1024) controller.enqueue(part.subarray(i, i + 64 * 1024));
      // Let the node read what it has before the next part arrives.
      await new Promise((r) => setTimeout(r, 5));
    },
  });
  const res = await fetch(`${node.url}/api/v4${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': MULTIPART_TYPE },
    body,
    duplex: 'half',
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

describe('quota config', () => {
  it('defaults to 20 MiB for guests and 1024 MiB for signed-in users; bad values name the key', () => {
    const c = loadConfig({});
    expect([c.guestUploadQuotaMb, c.userUploadQuotaMb]).toEqual([20, 1024]);
    expect(loadConfig({ env: { ODYSSEY_GUEST_UPLOAD_QUOTA_MB: '0' } }).guestUploadQuotaMb).toBe(0);
    expect(loadConfig({ flags: { userUploadQuotaMb: '2.5' } }).userUploadQuotaMb).toBe(2.5);
    expect(() => loadConfig({ flags: { guestUploadQuotaMb: '-1' } })).toThrow(
      /invalid config key guestUploadQuotaMb \(from flag --guest-upload-quota-mb\)/,
    );
    expect(() => loadConfig({ env: { ODYSSEY_USER_UPLOAD_QUOTA_MB: 'lots' } })).toThrow(ConfigError);
  });
});

describe('quotas on a node (guests 1 MiB, users 2 MiB)', () => {
  let node: TestNode;
  let visitor: Guest;

  beforeAll(async () => {
    node = await startNode({
      guestUploadQuotaMb: 1,
      userUploadQuotaMb: 2,
      admins: ADMIN_WALLET,
      assetGcGraceMs: 0,
    });
    visitor = await guest(node);
  });
  afterAll(() => node.cleanup());

  const first = png(600_000, 'quota-1');

  it('counts a guest upload in /users/me', async () => {
    expect(await me(node, visitor.token)).toEqual({ usedBytes: 0, quotaBytes: MIB });
    expect((await upload(node, visitor.token, first)).status).toBe(201);
    expect(await me(node, visitor.token)).toEqual({ usedBytes: first.length, quotaBytes: MIB });
  });

  it('refuses an announced upload over the room left with 413 before reading it', async () => {
    const blocks = await countBlocks(node);
    const res = await upload(node, visitor.token, glb(600_000, 'quota-2'));
    expect([res.status, reason(res)]).toEqual([413, 'upload_quota_exceeded']);
    expect(res.body).toMatchObject({
      error: { message: expect.stringMatching(/600000 of 1048576 bytes stored/) },
    });
    // Several chunks: had the body been read, blocks would have been written.
    expect(await countBlocks(node)).toBe(blocks);
    expect(await mine(node, visitor.token)).toHaveLength(1);
    expect((await me(node, visitor.token)).usedBytes).toBe(first.length);
  });

  it('refuses a streamed (chunked) upload as its bytes pass the quota, leaving no record', async () => {
    const res = await streamedUpload(node, visitor.token, glb(600_000, 'quota-3'));
    expect([res.status, reason(res)]).toEqual([413, 'upload_quota_exceeded']);
    expect(await mine(node, visitor.token)).toHaveLength(1);
    expect((await me(node, visitor.token)).usedBytes).toBe(first.length);
    // Still room for something small.
    expect((await streamedUpload(node, visitor.token, png(10_000, 'quota-small'))).status).toBe(201);
    expect((await me(node, visitor.token)).usedBytes).toBe(first.length + 10_000);
  });

  it('does not count bytes already stored, by the same user or by another', async () => {
    const again = await upload(node, visitor.token, png(10_000, 'quota-small'));
    expect([again.status, again.body.uploader_id]).toEqual([200, visitor.id]);
    expect((await me(node, visitor.token)).usedBytes).toBe(first.length + 10_000);
    const other = await guest(node);
    const theirs = await upload(node, other.token, first);
    expect([theirs.status, theirs.body.uploader_id]).toEqual([200, visitor.id]);
    expect(await me(node, other.token)).toEqual({ usedBytes: 0, quotaBytes: MIB });
    // While it streams nobody can know a file is a duplicate: it needs the room, though it costs nothing.
    const noRoom = await upload(node, visitor.token, first);
    expect([noRoom.status, reason(noRoom)]).toEqual([413, 'upload_quota_exceeded']);
  });

  it('lets concurrent uploads of one user take at most the room left, never more', async () => {
    const racer = await guest(node);
    const results = await Promise.all(
      ['race-a', 'race-b', 'race-c'].map((seed) => streamedUpload(node, racer.token, glb(400_000, seed))),
    );
    const statuses = results.map((r) => r.status).sort();
    // 1 MiB holds two of 400 000 bytes, not three.
    expect(statuses).toEqual([201, 201, 413]);
    expect((await me(node, racer.token)).usedBytes).toBe(800_000);
    expect(await mine(node, racer.token)).toHaveLength(2);
  });

  it('gives signed-in users their own quota, node admins none', async () => {
    const member = await walletUser(node);
    expect(await me(node, member.token)).toEqual({ usedBytes: 0, quotaBytes: 2 * MIB });
    for (const seed of ['user-1', 'user-2', 'user-3']) {
      expect((await upload(node, member.token, glb(600_000, seed))).status).toBe(201);
    }
    const over = await upload(node, member.token, glb(600_000, 'user-4'));
    expect([over.status, reason(over)]).toEqual([413, 'upload_quota_exceeded']);
    expect((await me(node, member.token)).usedBytes).toBe(1_800_000);

    const admin = await walletUser(node, ADMIN_WALLET);
    expect(await me(node, admin.token)).toEqual({ usedBytes: 0, quotaBytes: null });
    for (const seed of ['admin-1', 'admin-2', 'admin-3', 'admin-4']) {
      expect((await streamedUpload(node, admin.token, glb(600_000, seed))).status).toBe(201);
    }
    expect(await me(node, admin.token)).toEqual({ usedBytes: 2_400_000, quotaBytes: null });
  });

  it('keeps the usage across a restart, and frees it when garbage collection removes the assets', async () => {
    const before = await me(node, visitor.token);
    node = await node.restart();
    expect(await me(node, visitor.token)).toEqual(before);
    expect((await upload(node, visitor.token, glb(600_000, 'after-restart'))).status).toBe(413);
    // Nothing references the uploads and the grace period is 0: a collection removes them.
    await node.node.assets.keeper.gc();
    expect(await mine(node, visitor.token)).toEqual([]);
    expect(await me(node, visitor.token)).toEqual({ usedBytes: 0, quotaBytes: MIB });
    expect((await upload(node, visitor.token, glb(600_000, 'after-gc'))).status).toBe(201);
  });
});

describe('a data dir written before quotas (schema 1)', () => {
  it("gets every uploader's usage from the asset records on first start", async () => {
    let node = await startNode();
    const visitor = await guest(node);
    expect((await upload(node, visitor.token, png(7000, 'schema-1'))).status).toBe(201);
    await node.stop();
    // Back to what an older node wrote: schema 1, no usage.
    const db = new Database(`${node.dir}/db`);
    await db.open();
    await assetTables(db).uploadUsage.clear();
    await db.meta.put('schema', 1);
    await db.close();
    node = await node.restart();
    try {
      expect((await me(node, visitor.token)).usedBytes).toBe(7000);
    } finally {
      await node.cleanup();
    }
  });
});

describe('guest uploads off (--guest-upload-quota-mb 0)', () => {
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.cleanup();
    node = undefined;
  });

  it('refuses guests with 403 before reading the body; signed-in users still upload', async () => {
    node = await startNode({ guestUploadQuotaMb: 0 });
    const visitor = await guest(node);
    expect(await me(node, visitor.token)).toEqual({ usedBytes: 0, quotaBytes: 0 });
    const blocks = await countBlocks(node);
    for (const route of [
      { path: '/assets', field: 'file' },
      { path: '/assets-3d/upload', field: 'asset' },
      { path: '/media/upload/image', field: 'file' },
    ]) {
      const res = await upload(node, visitor.token, glb(600_000, `off-${route.path}`), route);
      expect([res.status, reason(res)], route.path).toEqual([403, 'upload_not_permitted']);
    }
    const streamed = await streamedUpload(node, visitor.token, glb(600_000, 'off-streamed'));
    expect([streamed.status, reason(streamed)]).toEqual([403, 'upload_not_permitted']);
    expect(await countBlocks(node)).toBe(blocks);
    expect(await mine(node, visitor.token)).toEqual([]);

    const member = await walletUser(node);
    expect((await upload(node, member.token, png(5000, 'member'))).status).toBe(201);
  });
});

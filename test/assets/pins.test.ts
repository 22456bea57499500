/**
 * Pins follow what the worlds use, and garbage collection removes only what nothing uses: objects name
 * assets by UMID (`asset_3d_id`), a world's skybox by CID, and deleting an object in one world never
 * removes bytes another world (or another asset sharing blocks) still needs.
 */
import { CID } from 'multiformats/cid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE_PLUGIN_ID } from '../../node/world/render.ts';
import { createObject, createWorld, randomWallet, type SignedIn, walletUser } from '../api/world-fixtures.ts';
import { call, reason } from '../support/http.ts';
import { guest, startNode, type TestNode } from '../support/node.ts';
import { bytes, countBlocks, download, glb, independentCid, png, upload } from './support.ts';

const ADMIN_WALLET = randomWallet();
let node: TestNode;
let owner: SignedIn;
let admin: SignedIn;

beforeAll(async () => {
  node = await startNode({ assetGcGraceMs: 0, admins: ADMIN_WALLET });
  owner = await walletUser(node);
  admin = await walletUser(node, ADMIN_WALLET);
});
afterAll(() => node.cleanup());

interface Stored {
  cid: string;
  umid: string;
  data: Uint8Array;
}

async function put(data: Uint8Array, kind = 'model'): Promise<Stored> {
  const up = await upload(node, owner.token, data, { fields: { kind } });
  expect(up.status, JSON.stringify(up.body)).toBeLessThan(300);
  return { cid: up.body.cid as string, umid: up.body.umid as string, data };
}

const gc = async () => {
  const res = await call<{ removed_assets: string[]; removed_blocks: number }>(
    node,
    'POST',
    '/api/v4/assets/gc',
    {
      token: admin.token,
    },
  );
  expect(res.status).toBe(200);
  return res.body;
};

const present = async (a: Stored) => {
  const { res, data } = await download(`${node.url}/api/v4/assets/${a.cid}`);
  if (res.status === 404) return false;
  expect(Buffer.from(data).equals(Buffer.from(a.data))).toBe(true);
  return true;
};

const pinned = (a: Stored) => node.node.assets.store.isPinned(CID.parse(a.cid));

describe('pins and garbage collection', () => {
  it('removes only unreferenced assets, keeping blocks shared with a kept one', async () => {
    const shared = glb(262_144, 'shared-chunk');
    const withTail = (tail: string) => {
      const out = new Uint8Array(262_144 + 5000);
      out.set(shared, 0);
      out.set(bytes(5000, tail), 262_144);
      return out;
    };
    const used = await put(glb(300_000, 'used-by-two-worlds'));
    const sky = await put(png(40_000, 'skybox'), 'skybox');
    const alone = await put(glb(600_000, 'nobody-uses-me'));
    const keptSharer = await put(withTail('kept'));
    const goneSharer = await put(withTail('gone'));

    const world1 = await createWorld(node, owner.token, 'One');
    const world2 = await createWorld(node, owner.token, 'Two');
    const obj1 = await createObject(node, owner.token, world1, { asset_3d_id: used.umid });
    const obj2 = await createObject(node, owner.token, world2, { asset_3d_id: used.umid });
    await createObject(node, owner.token, world1, { asset_3d_id: keptSharer.umid });
    const store = node.node.store;
    await store.apply(
      store.attributeOp(world1, world1, CORE_PLUGIN_ID, 'active_skybox', { render_hash: sky.cid }, 'system'),
    );
    await node.node.assets.keeper.sweep();
    for (const a of [used, sky, keptSharer]) expect(await pinned(a)).toBe(true);

    const before = await countBlocks(node);
    const report = await gc();
    expect(report.removed_assets.sort()).toEqual([alone.cid, goneSharer.cid].sort());
    // alone: 3 leaves + root; goneSharer: its own tail leaf + root (the shared first leaf stays).
    expect(report.removed_blocks).toBe(6);
    expect(await countBlocks(node)).toBe(before - 6);
    for (const a of [used, sky, keptSharer]) expect(await present(a)).toBe(true);
    for (const a of [alone, goneSharer]) expect(await present(a)).toBe(false);

    // Deleting the object in world 1 leaves world 2's use: the bytes stay.
    expect((await call(node, 'DELETE', `/api/v4/objects/${obj1}`, { token: owner.token })).status).toBe(200);
    expect((await gc()).removed_assets).toEqual([]);
    expect(await present(used)).toBe(true);
    // Once no world uses it, it goes.
    expect((await call(node, 'DELETE', `/api/v4/objects/${obj2}`, { token: owner.token })).status).toBe(200);
    expect((await gc()).removed_assets).toEqual([used.cid]);
    expect(await present(used)).toBe(false);

    // A skybox changed away from an asset releases it; a removed world releases everything in it.
    await store.apply(
      store.attributeOp(world1, world1, CORE_PLUGIN_ID, 'active_skybox', { render_hash: '' }, 'system'),
    );
    await store.apply(store.objectOp(world1, world1, { removed: true }, 'system'));
    expect((await gc()).removed_assets.sort()).toEqual([sky.cid, keptSharer.cid].sort());
  });

  it('counts a reference made before the bytes arrive (objects name assets by UMID)', async () => {
    const data = glb(10_000, 'named-early');
    const cid = await independentCid(data);
    const umid = Buffer.from(cid.multihash.digest.subarray(0, 16)).toString('hex');
    const dashed = `${umid.slice(0, 8)}-${umid.slice(8, 12)}-${umid.slice(12, 16)}-${umid.slice(16, 20)}-${umid.slice(20)}`;
    const world = await createWorld(node, owner.token, 'Early');
    await createObject(node, owner.token, world, { asset_3d_id: dashed });
    const early = await put(data);
    expect(early.umid).toBe(dashed);
    expect((await gc()).removed_assets).not.toContain(early.cid);
    expect(await present(early)).toBe(true);
  });

  it('lets only node admins collect', async () => {
    const user = await guest(node);
    const res = await call(node, 'POST', '/api/v4/assets/gc', { token: user.token });
    expect(res.status).toBe(403);
    expect(reason(res)).toBe('not_admin');
    expect((await call(node, 'POST', '/api/v4/assets/gc')).status).toBe(401);
  });
});

describe('the grace period', () => {
  it('keeps an unreferenced upload until its grace period is over', async () => {
    const graceful = await startNode({ admins: ADMIN_WALLET });
    try {
      const who = await walletUser(graceful, ADMIN_WALLET);
      const up = await upload(graceful, who.token, glb(1000, 'fresh'));
      const res = await call<{ removed_assets: string[] }>(graceful, 'POST', '/api/v4/assets/gc', {
        token: who.token,
      });
      expect(res.body.removed_assets).toEqual([]);
      expect(await graceful.node.assets.store.isPinned(CID.parse(up.body.cid as string))).toBe(true);
    } finally {
      await graceful.cleanup();
    }
  });
});

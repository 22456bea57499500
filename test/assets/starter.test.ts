/** The starter assets: generated, valid, imported like uploads on first start, referenced, never collected. */
import validator from 'gltf-validator';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE_PLUGIN_ID } from '../../node/world/render.ts';
import { DEFAULT_WORLD_ID, SYSTEM_USER_ID } from '../../node/world/seed.ts';
import { randomWallet, walletUser } from '../api/world-fixtures.ts';
import { call } from '../support/http.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { download, independentCid } from './support.ts';

const ADMIN = randomWallet();
let node: TestNode;

beforeAll(async () => {
  node = await startNode({ assetGcGraceMs: 0, admins: ADMIN });
});
afterAll(() => node.cleanup());

describe('starter assets', () => {
  it('are valid glTF and PNG files, stored by the system user and served like uploads', async () => {
    const starters = node.node.assets.starters;
    expect(starters.map((s) => s.name)).toEqual(['Cube', 'Pyramid', 'Sky']);
    for (const s of starters) {
      const { res, data } = await download(`${node.url}/api/v4/assets/${s.cid}`);
      expect(res.status).toBe(200);
      expect((await independentCid(data)).toString()).toBe(s.cid);
      const meta = await call<{ uploader_id: string; kind: string }>(
        node,
        'GET',
        `/api/v4/assets/${s.umid}/meta`,
      );
      expect(meta.body).toMatchObject({ uploader_id: SYSTEM_USER_ID, kind: s.kind });
      if (s.kind === 'model') {
        const report = await validator.validateBytes(data);
        expect(report.issues.numErrors, JSON.stringify(report.issues.messages)).toBe(0);
        expect(report.issues.numWarnings).toBe(0);
      } else {
        const info = await sharp(data).metadata();
        expect([info.format, info.width, info.height]).toEqual(['png', 256, 128]);
      }
    }
  });

  it('dress the seeded world (sky, tower) and survive garbage collection', async () => {
    const [cube, , sky] = node.node.assets.starters;
    const world = node.node.store.get(DEFAULT_WORLD_ID);
    expect(world?.attributes.get(`${DEFAULT_WORLD_ID}!${CORE_PLUGIN_ID}!active_skybox`)?.value).toEqual({
      render_hash: sky.cid,
    });
    expect(world?.objects.get('5e1f0d2c-7a41-4c39-9b1e-0d0000000104')).toMatchObject({
      assetType: cube.umid,
      assetFormat: 1,
    });
    const admin = await walletUser(node, ADMIN);
    const gc = await call<{ removed_assets: string[] }>(node, 'POST', '/api/v4/assets/gc', {
      token: admin.token,
    });
    expect(gc.body.removed_assets).toEqual([]);
    // The pyramid is used by no object, and still kept.
    expect(node.node.assets.references.isReferenced(node.node.assets.starters[1].umid)).toBe(true);
  });

  it('are made once: a restart finds the same ones and adds nothing', async () => {
    const before = node.node.assets.starters;
    const blocks = await node.node.assets.store.ipfs.countBlocks();
    node = await node.restart();
    expect(node.node.assets.starters).toEqual(before);
    expect(await node.node.assets.store.ipfs.countBlocks()).toBe(blocks);
  });
});

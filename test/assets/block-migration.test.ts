/**
 * Blocks move from LevelDB (where versions before the file blockstore kept them, `<data>/ipfs/blocks`)
 * into files when the node starts, with nothing lost: the data dir of the old layout is made the way the
 * old code made it (uploads through the node, pins in the datastore, blocks written by blockstore-level
 * under the same keys), then a node starts on it.
 */
import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LevelBlockstore } from 'blockstore-level';
import { CID } from 'multiformats/cid';
import { afterEach, describe, expect, it } from 'vitest';
import { FileBlockstore } from '../../storage/assets/file-blockstore.ts';
import { call } from '../support/http.ts';
import { guest, startNode, type TestNode } from '../support/node.ts';
import { download, glb, upload } from './support.ts';

let node: TestNode | undefined;
afterEach(async () => {
  await node?.cleanup();
  node = undefined;
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Turns a stopped node's blockstore into the old layout: every block into a LevelDB blockstore at
 * `ipfs/blocks`; `keepInFiles` blocks also stay as files (a migration that was cut off half-way).
 */
async function toOldLayout(dir: string, keepInFiles = 0): Promise<number> {
  const files = new FileBlockstore(join(dir, 'ipfs', 'block-files'));
  const level = new LevelBlockstore(join(dir, 'ipfs', 'blocks'));
  await level.open();
  let n = 0;
  for await (const { cid, bytes } of files.getAll()) {
    await level.put(cid, bytes);
    if (n++ >= keepInFiles) await files.delete(cid);
  }
  await level.close();
  return n;
}

async function blockFiles(dir: string): Promise<number> {
  let n = 0;
  for await (const _ of new FileBlockstore(join(dir, 'ipfs', 'block-files')).cids()) n++;
  return n;
}

describe('blocks kept in LevelDB by earlier versions', () => {
  for (const [name, keep] of [
    ['moves every block into files on start, pins and bytes intact', 0],
    ['finishes a migration that was cut off half-way', 3],
  ] as const) {
    it(name, async () => {
      node = await startNode();
      const { token } = await guest(node);
      // Two files sharing nothing, one of several blocks (a UnixFS tree) and one of a single block.
      const big = glb(700_000, 'migrate-big');
      const small = glb(10_000, 'migrate-small');
      const cids: string[] = [];
      for (const data of [big, small]) {
        const up = await upload(node, token, data, { fields: { kind: 'model' } });
        expect(up.status, JSON.stringify(up.body)).toBe(201);
        cids.push(up.body.cid as string);
      }
      const dir = node.dir;
      const restart = node.restart;
      await node.stop();
      const blocks = await toOldLayout(dir, keep);
      // 3 leaves + 1 root and the single-block file, besides the starter assets every node has.
      expect(blocks).toBeGreaterThanOrEqual(5);
      expect(await blockFiles(dir)).toBe(Math.min(keep, blocks));

      node = await restart();
      expect(node.node.assets.store.ipfs.migratedBlocks).toBe(blocks);
      expect(await exists(join(dir, 'ipfs', 'blocks'))).toBe(false);
      expect(await blockFiles(dir)).toBe(blocks);
      for (const [i, data] of [big, small].entries()) {
        const got = await download(`${node.url}/api/v4/assets/${cids[i]}`);
        expect(got.res.status).toBe(200);
        expect(Buffer.from(got.data).equals(Buffer.from(data))).toBe(true);
      }
      // The pins came along (uploads stay pinned through their grace period): GC removes no block.
      for (const cid of cids) expect(await node.node.assets.store.isPinned(CID.parse(cid))).toBe(true);
      const report = await node.node.assets.keeper.gc();
      expect(report).toEqual({ assets: [], blocks: 0 });
      expect(await blockFiles(dir)).toBe(blocks);

      // A second start has nothing to move.
      const again = node.restart;
      await node.stop();
      node = await again();
      expect(node.node.assets.store.ipfs.migratedBlocks).toBe(0);
      expect(await blockFiles(dir)).toBe(blocks);
    });
  }

  it('ignores a directory at the old path that is not LevelDB', async () => {
    node = await startNode();
    const dir = node.dir;
    const restart = node.restart;
    await node.stop();
    await rm(join(dir, 'ipfs', 'blocks'), { recursive: true, force: true });
    await mkdir(join(dir, 'ipfs', 'blocks'));
    await writeFile(join(dir, 'ipfs', 'blocks', 'notes.txt'), 'not a database');
    node = await restart();
    expect(node.node.assets.store.ipfs.migratedBlocks).toBe(0);
    expect(await readdir(join(dir, 'ipfs', 'blocks'))).toEqual(['notes.txt']);
    const health = await call(node, 'GET', '/health');
    expect(health.status).toBe(200);
  });
});

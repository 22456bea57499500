/**
 * The direct file reader (storage/assets/local-file.ts, FileBlockstore.readRange) against DAGs whose
 * UnixFS blocksizes lie, as a peer's DAG adopted after an exporter read may: the exporter stops at the
 * root's size, so a DAG can pass it while a node below the root claims far more bytes, or a leaf a size
 * far beyond its bytes. A whole-file read (renditions read with no length) must still give the file the
 * exporter gave, and never crash the process. Real file blockstore in a temp dir; blocks made by hand.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { exporter } from 'ipfs-unixfs-exporter';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBlockstore } from '../../storage/assets/file-blockstore.ts';
import { rawLeafCid } from '../../storage/assets/leaf-import.ts';
import { readLocalFile } from '../../storage/assets/local-file.ts';
import { BufferPool, readLocalFilePooled } from '../../storage/assets/read-pool.ts';

let dir: string;
let blocks: FileBlockstore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odyssey-hostile-dag-'));
  blocks = new FileBlockstore(dir);
  await blocks.open();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function leaf(bytes: Uint8Array): Promise<CID> {
  const cid = rawLeafCid(bytes);
  await blocks.put(cid, bytes);
  return cid;
}

/** A UnixFS file node linking `links`, each with the size it claims. */
async function fileNode(links: { cid: CID; size: number }[]): Promise<CID> {
  const unixfs = new UnixFS({ type: 'file', blockSizes: links.map((l) => BigInt(l.size)) });
  const bytes = dagPb.encode({ Data: unixfs.marshal(), Links: links.map((l) => ({ Hash: l.cid })) });
  const cid = CID.createV1(dagPb.code, await sha256.digest(bytes));
  await blocks.put(cid, bytes);
  return cid;
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

/** The pooled reader over the same range (small buffers: a leaf spans several), every lease given back. */
async function collectPooled(root: CID, offset: number, length: number): Promise<Buffer> {
  const pool = new BufferPool(64, 4);
  const parts: Buffer[] = [];
  for await (const lease of readLocalFilePooled(blocks, root, offset, length, pool)) {
    parts.push(Buffer.from(lease.bytes));
    lease.release();
  }
  expect(pool.stats.leased).toBe(0);
  return Buffer.concat(parts);
}

describe('reading a DAG whose blocksizes lie', () => {
  it('a node holding more than its parent says adds only what the parent says, as the exporter reads it', async () => {
    const bytes = Buffer.alloc(1000, 7);
    const l = await leaf(bytes);
    // 8,000 bytes below a link the root says holds 1,000 (a small DAG can claim terabytes this way).
    const inflated = await fileNode(Array.from({ length: 8 }, () => ({ cid: l, size: 1000 })));
    const root = await fileNode([{ cid: inflated, size: 1000 }]);

    const entry = await exporter(root, blocks);
    if (entry.type !== 'file') throw new Error(`exported a ${entry.type}`);
    const exported = await collect(entry.content());
    expect(exported).toEqual(bytes);
    expect(await collect(readLocalFile(blocks, root, 0, Number.POSITIVE_INFINITY))).toEqual(exported);
    expect(await collect(readLocalFile(blocks, root, 500, 1000))).toEqual(bytes.subarray(500));
    expect(await collectPooled(root, 0, Number.POSITIVE_INFINITY)).toEqual(exported);
    expect(await collectPooled(root, 500, 1000)).toEqual(bytes.subarray(500));
  });

  it('a leaf claiming a terabyte is read as the bytes it has, without allocating the claim', async () => {
    const bytes = Buffer.from('ten bytes!');
    const l = await leaf(bytes);
    const root = await fileNode([{ cid: l, size: 2 ** 40 }]);
    // Before: Buffer.allocUnsafeSlow(2^40) threw inside an fs callback (an uncaught exception, fd open).
    expect(await blocks.readRange(l, 0, 2 ** 40)).toEqual(bytes);
    expect(await blocks.readRange(l, 4, 2 ** 40)).toEqual(bytes.subarray(4));
    expect(await collect(readLocalFile(blocks, root, 0, Number.POSITIVE_INFINITY))).toEqual(bytes);
    expect(await collectPooled(root, 0, Number.POSITIVE_INFINITY)).toEqual(bytes);
    expect(await collectPooled(root, 3, 2 ** 40)).toEqual(bytes.subarray(3));
  });

  it('links of no bytes are not walked (not even read)', async () => {
    const bytes = Buffer.alloc(100, 1);
    const l = await leaf(bytes);
    // A node never stored: reading it would fail the file (and a stored one could link more of the same).
    const absent = CID.createV1(dagPb.code, await sha256.digest(Buffer.from('never stored')));
    const root = await fileNode([
      { cid: l, size: 100 },
      { cid: absent, size: 0 },
    ]);
    expect(await collect(readLocalFile(blocks, root, 0, Number.POSITIVE_INFINITY))).toEqual(bytes);
  });

  it('a pooled read stopped inside a leaf gives its buffers back and closes the leaf file', async () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const l = await leaf(bytes);
    const root = await fileNode([{ cid: l, size: 1000 }]);
    const pool = new BufferPool(64, 4);
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const got: Buffer[] = [];
    for await (const lease of readLocalFilePooled(blocks, root, 10, 990, pool)) {
      got.push(Buffer.from(lease.bytes));
      lease.release();
      if (got.length === 3) break; // the leaf's file is still open here: `return()` closes it
    }
    expect(Buffer.concat(got)).toEqual(bytes.subarray(10, 10 + 3 * 64));
    expect(pool.stats).toEqual({ leased: 0, free: 1, lent: 3 });
    if (process.platform === 'linux') expect(fds()).toBe(before);
  });
});

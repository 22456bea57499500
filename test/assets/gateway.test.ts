/**
 * The IPFS gateway: what a trustless client gets must verify without trusting the node: every raw block
 * hashes to its CID, and a CAR read back with @ipld/car holds the whole DAG, each block re-hashed.
 */
import { CarReader } from '@ipld/car/reader';
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guest, startNode, type TestNode } from '../support/node.ts';
import { bytes, download, glb, independentCid, sha256, upload } from './support.ts';

let node: TestNode;
const model = glb(5 * 262_144 + 777, 'gateway');
let cid: CID;

beforeAll(async () => {
  node = await startNode();
  const user = await guest(node);
  const up = await upload(node, user.token, model);
  cid = CID.parse(up.body.cid as string);
});
afterAll(() => node.cleanup());

const equal = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('GET /ipfs/{cid}', () => {
  it('serves the plain file without an Accept header', async () => {
    const { res, data } = await download(`${node.url}/ipfs/${cid}`);
    expect(res.status).toBe(200);
    expect(equal(data, model)).toBe(true);
    expect(res.headers.get('etag')).toBe(`"${cid}"`);
    const part = await download(`${node.url}/ipfs/${cid}`, { range: 'bytes=10-19' });
    expect(part.res.status).toBe(206);
    expect(equal(part.data, model.subarray(10, 20))).toBe(true);
  });

  it('serves one raw block that hashes to its CID (root and a leaf)', async () => {
    const root = await download(`${node.url}/ipfs/${cid}`, { accept: 'application/vnd.ipld.raw' });
    expect(root.res.status).toBe(200);
    expect(root.res.headers.get('content-type')).toBe('application/vnd.ipld.raw');
    expect(root.res.headers.get('content-disposition')).toBe(`attachment; filename="${cid}.bin"`);
    expect(equal(sha256(root.data), cid.multihash.digest)).toBe(true);
    const links = dagPb.decode(root.data).Links;
    expect(links).toHaveLength(6);
    const leaf = links[5].Hash;
    expect(leaf.code).toBe(raw.code);
    const block = await download(`${node.url}/ipfs/${leaf}?format=raw`);
    expect(equal(sha256(block.data), leaf.multihash.digest)).toBe(true);
    expect(equal(block.data, model.subarray(5 * 262_144))).toBe(true);
  });

  it('serves the whole DAG as a CARv1 that verifies block by block and rebuilds the file', async () => {
    const { res, data } = await download(`${node.url}/ipfs/${cid}`, { accept: 'application/vnd.ipld.car' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.ipld.car; version=1; order=dfs; dups=n');
    const reader = await CarReader.fromBytes(data);
    expect((await reader.getRoots()).map(String)).toEqual([cid.toString()]);
    const blocks = [];
    for await (const block of reader.blocks()) blocks.push(block);
    expect(blocks).toHaveLength(7); // the root and six leaves
    for (const block of blocks) expect(equal(sha256(block.bytes), block.cid.multihash.digest)).toBe(true);
    // Depth-first order: the root first, then the raw leaves in file order.
    expect(blocks[0].cid.equals(cid)).toBe(true);
    const rebuilt = Buffer.concat(blocks.slice(1).map((b) => b.bytes));
    expect(equal(rebuilt, model)).toBe(true);
    // And an independent importer agrees on the root.
    expect((await independentCid(rebuilt)).equals(cid)).toBe(true);

    const scoped = await download(`${node.url}/ipfs/${cid}?format=car&dag-scope=block`);
    const one = await CarReader.fromBytes(scoped.data);
    expect(await one.getRoots()).toHaveLength(1);
    let n = 0;
    for await (const _ of one.blocks()) n++;
    expect(n).toBe(1);
  });

  it('answers HEAD, 404 for a CID it does not hold (never fetching it), 400 for garbage', async () => {
    const head = await fetch(`${node.url}/ipfs/${cid}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(model.length));
    const unknown = await independentCid(bytes(100, 'absent'));
    for (const accept of ['', 'application/vnd.ipld.raw', 'application/vnd.ipld.car']) {
      const res = await fetch(`${node.url}/ipfs/${unknown}`, { headers: accept ? { accept } : {} });
      expect(res.status, accept).toBe(404);
      expect(await res.json()).toMatchObject({ error: { reason: 'block_not_found' } });
    }
    expect((await fetch(`${node.url}/ipfs/hello`)).status).toBe(400);
    expect((await fetch(`${node.url}/ipfs/${cid}?format=tar`)).status).toBe(400);
  });
});

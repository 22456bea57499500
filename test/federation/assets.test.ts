/**
 * Assets across nodes, with real node processes on loopback. A model uploaded on A and placed in a world
 * that B mirrors is fetched and pinned by B (its UMID resolved through A's record, its bytes over
 * bitswap), and B still serves it, byte for byte, after A is stopped and its data deleted. C is over its
 * storage quota from the start: it says so, pins nothing for A's world, yet serves the asset on demand.
 * A CID nobody has is a 504 within the fetch timeout, never a hang.
 */
import { rm } from 'node:fs/promises';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, glb, independentCid } from '../assets/support.ts';
import { cleanup, federationFlags, type NodeProcess, prepareNode, waitFor } from '../support/federation.ts';
import { call } from '../support/http.ts';
import { ethSigner, tokenFor } from '../support/sign-in.ts';

const API = '/api/v4';
const CUSTOM_TYPE = '4ed3a5bb-53f8-4511-941b-07902982c31c';
const FETCH_TIMEOUT_MS = 2500;
const owner = privateKeyToAccount(generatePrivateKey());
/** Three 256 KiB chunks and a bit: a DAG with a root and four leaves. */
const model = glb(800_000, 'federated-model');

let A: NodeProcess;
let B: NodeProcess;
let C: NodeProcess;

interface Health {
  p2p: { peers: string[] };
  storage: { usedBytes: number; quotaBytes: number; overQuota: boolean };
}
const health = async (n: NodeProcess) => (await (await fetch(`${n.url}/health`)).json()) as Health;
const download = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, data: Buffer.from(await res.arrayBuffer()) };
};
const meta = (n: NodeProcess, id: string) =>
  call<{ cid: string; size: number }>(n, 'GET', `${API}/assets/${id}/meta`);

beforeAll(async () => {
  [A, B, C] = await Promise.all([prepareNode('a'), prepareNode('b'), prepareNode('c')]);
  const nodes = [A, B, C];
  const extra: Record<string, string[]> = {
    a: [],
    b: ['--replicate', 'all', '--asset-fetch-timeout-ms', String(FETCH_TIMEOUT_MS)],
    // 1 kB: the starter assets alone are over it.
    c: ['--replicate', 'all', '--storage-quota-gb', '0.000001'],
  };
  // One at a time: three cold starts at once can take longer than a start may on a busy machine.
  for (const n of nodes) await n.start([...federationFlags(n, nodes), ...extra[n.name]]);
  await waitFor(
    async () => (await Promise.all(nodes.map(health))).every((h) => h.p2p.peers.length >= 2),
    20_000,
    'a connected federation',
  );
}, 120_000);

afterAll(async () => {
  await cleanup([A, B, C]);
}, 60_000);

describe('assets across nodes', () => {
  let cid: string;
  let umid: string;

  it('B fetches and pins the model a world it mirrors references; C, over quota, does not', async () => {
    const token = await tokenFor(A, owner.address, ethSigner(owner));
    const form = new FormData();
    form.append('name', 'Federated model');
    form.append('file', new Blob([model]), 'model.glb');
    const up = await fetch(`${A.url}${API}/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    expect(up.status).toBe(201);
    ({ cid, umid } = (await up.json()) as { cid: string; umid: string });
    expect((await meta(B, umid)).status).toBe(404);

    const world = await call<{ id: string }>(A, 'POST', `${API}/worlds`, { token, body: { name: 'Assets' } });
    expect(world.status).toBe(201);
    const placed = Date.now();
    const object = await call(A, 'POST', `${API}/objects`, {
      token,
      body: {
        object_name: 'Statue',
        parent_id: world.body.id,
        object_type_id: CUSTOM_TYPE,
        asset_3d_id: umid,
      },
    });
    expect(object.status, JSON.stringify(object.body)).toBe(201);

    // B learns the CID from A's record (the UMID alone does not give it), then pins the bytes.
    await waitFor(async () => (await meta(B, umid)).status === 200, 20_000, 'B to pin the model');
    console.log(`B had the 800 kB model pinned ${Date.now() - placed} ms after it was placed on A`);
    const onB = await meta(B, umid);
    expect(onB.body).toMatchObject({
      cid,
      size: model.length,
      kind: 'model',
      mime: 'model/gltf-binary',
      name: 'Federated model',
    });
    expect((await health(B)).storage.usedBytes).toBeGreaterThanOrEqual(model.length);

    const c = await health(C);
    expect(c.storage).toMatchObject({ quotaBytes: 1000, overQuota: true });
    expect(C.logs.join('')).toContain('over the storage quota');
    // C holds the world (replicate all) but pins nothing for it.
    await waitFor(
      () => C.logs.join('').includes('not pinning an asset for other nodes'),
      10_000,
      'C to refuse',
    );
    expect((await meta(C, umid)).status).toBe(404);
  }, 60_000);

  it('B serves it by UMID, by CID, on the render path and the gateway, byte-identical', async () => {
    for (const path of [
      `${API}/assets/${umid}`,
      `${API}/assets/${cid}`,
      `${API}/media/render/asset/${umid.replace(/-/g, '')}`,
      `/ipfs/${cid}`,
    ]) {
      const got = await download(`${B.url}${path}`);
      expect(got.status, path).toBe(200);
      expect(got.data.equals(Buffer.from(model)), path).toBe(true);
    }
  });

  it('C serves it on demand, fetched from its peers, though it pins nothing', async () => {
    const started = Date.now();
    const got = await download(`${C.url}${API}/assets/${umid}`);
    console.log(`C served the 800 kB model it lacked, fetched from peers, in ${Date.now() - started} ms`);
    expect(got.status).toBe(200);
    expect(got.data.equals(Buffer.from(model))).toBe(true);
    expect((await meta(C, umid)).status).toBe(404);
  });

  it('after A is stopped and its data deleted, B still serves the model, and C gets it from B', async () => {
    await A.stop();
    await rm(A.dir, { recursive: true, force: true });
    await waitFor(async () => !(await health(B)).p2p.peers.includes(A.peerId), 10_000, 'A to be gone');
    const fromB = await download(`${B.url}${API}/assets/${umid}`);
    expect(fromB.status).toBe(200);
    expect(fromB.data.equals(Buffer.from(model))).toBe(true);
    // By UMID: C has no record, so B (which fetched it) must answer for the UMID now that A is gone.
    const fromC = await download(`${C.url}${API}/assets/${umid}`);
    expect(fromC.status).toBe(200);
    expect(fromC.data.equals(Buffer.from(model))).toBe(true);
  }, 30_000);

  it('a CID no peer has is 504 asset_fetch_timeout within the timeout, on every route', async () => {
    const absent = (await independentCid(bytes(5000, 'nobody-has-this'))).toString();
    for (const path of [`${API}/assets/${absent}`, `/ipfs/${absent}`, `/ipfs/${absent}?format=raw`]) {
      const started = Date.now();
      const res = await call(B, 'GET', path);
      const took = Date.now() - started;
      expect(res.status, path).toBe(504);
      expect(res.body, path).toMatchObject({ error: { reason: 'asset_fetch_timeout' } });
      expect(took, path).toBeGreaterThanOrEqual(FETCH_TIMEOUT_MS - 100);
      expect(took, path).toBeLessThan(FETCH_TIMEOUT_MS + 3000);
    }
  }, 30_000);
});

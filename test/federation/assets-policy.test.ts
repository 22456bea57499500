/**
 * Pinning policy, the storage quota and asset lookups across nodes, with real node processes on
 * loopback. A uploads; B mirrors A's world under a quota with room for one of its two models (a fetch
 * reserves the asset's size first, so B pins exactly one and says why); D pins everything its trusted
 * peers hold (`--pin all-trusted`), referenced or not; B's admins can ask which peers hold an asset;
 * concurrent downloads on B of an asset it lacks share one lookup.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glb } from '../assets/support.ts';
import { cleanup, federationFlags, type NodeProcess, prepareNode, waitFor } from '../support/federation.ts';
import { call } from '../support/http.ts';
import { ethSigner, tokenFor } from '../support/sign-in.ts';

const API = '/api/v4';
const CUSTOM_TYPE = '4ed3a5bb-53f8-4511-941b-07902982c31c';
const owner = privateKeyToAccount(generatePrivateKey());
const admin = privateKeyToAccount(generatePrivateKey());
const SIZE = 600_000;
const [first, second, loose, demanded] = ['first', 'second', 'loose', 'demanded'].map((s) =>
  glb(SIZE, `policy-${s}`),
);

let A: NodeProcess;
let B: NodeProcess;
let D: NodeProcess;
let ownerToken: string;

interface Health {
  p2p: { peers: string[] };
  storage: { usedBytes: number; reservedBytes: number; quotaBytes: number; overQuota: boolean };
  assetLookups: { started: number; joined: number };
}
const health = async (n: NodeProcess) => (await (await fetch(`${n.url}/health`)).json()) as Health;
const meta = (n: NodeProcess, id: string) => call<{ cid: string }>(n, 'GET', `${API}/assets/${id}/meta`);

async function upload(data: Uint8Array, name: string): Promise<{ cid: string; umid: string }> {
  const form = new FormData();
  form.append('name', name);
  form.append('file', new Blob([data as Uint8Array<ArrayBuffer>]), `${name}.glb`);
  const res = await fetch(`${A.url}${API}/assets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ownerToken}` },
    body: form,
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { cid: string; umid: string };
}

let starters = 0;
beforeAll(async () => {
  [A, B, D] = await Promise.all([prepareNode('a'), prepareNode('b'), prepareNode('d')]);
  const nodes = [A, B, D];
  await A.start(federationFlags(A, nodes));
  starters = (await health(A)).storage.usedBytes; // every node has the same starter assets
  // Room for the starters and one model and a half: one of the two fits, never both.
  const quotaGb = (starters + 1.5 * SIZE) / 1e9;
  await B.start([
    ...federationFlags(B, nodes),
    ...['--replicate', 'all', '--storage-quota-gb', String(quotaGb), '--asset-fetch-concurrency', '4'],
    ...['--admins', admin.address, '--asset-fetch-timeout-ms', '4000'],
  ]);
  await D.start([...federationFlags(D, nodes), '--pin', 'all-trusted', '--asset-fetch-timeout-ms', '2000']);
  await waitFor(
    async () => (await Promise.all(nodes.map(health))).every((h) => h.p2p.peers.length >= 2),
    20_000,
    'a connected federation',
  );
  ownerToken = await tokenFor(A, owner.address, ethSigner(owner));
}, 120_000);

afterAll(async () => {
  await cleanup([A, B, D]);
}, 60_000);

describe('pinning policy and quota across nodes', () => {
  const ids: Record<string, { cid: string; umid: string }> = {};

  it('B reserves room before fetching: of two models its mirrored world needs, it pins the one that fits', async () => {
    ids.first = await upload(first, 'first');
    ids.second = await upload(second, 'second');
    const world = await call<{ id: string }>(A, 'POST', `${API}/worlds`, {
      token: ownerToken,
      body: { name: 'Quota' },
    });
    expect(world.status).toBe(201);
    for (const [name, id] of [
      ['One', ids.first],
      ['Two', ids.second],
    ] as const) {
      const object = await call(A, 'POST', `${API}/objects`, {
        token: ownerToken,
        body: {
          object_name: name,
          parent_id: world.body.id,
          object_type_id: CUSTOM_TYPE,
          asset_3d_id: id.umid,
        },
      });
      expect(object.status, JSON.stringify(object.body)).toBe(201);
    }
    const pinnedOnB = async () =>
      (await Promise.all([meta(B, ids.first.umid), meta(B, ids.second.umid)])).filter((r) => r.status === 200)
        .length;
    await waitFor(async () => (await pinnedOnB()) === 1, 30_000, 'B to pin one model');
    await waitFor(
      () => B.logs.join('').includes('not enough room under the storage quota'),
      15_000,
      'B to refuse the other',
    );
    // A later retry cannot squeeze the second in either.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await pinnedOnB()).toBe(1);
    const h = await health(B);
    expect(h.storage.usedBytes).toBe(starters + SIZE);
    expect(h.storage.usedBytes).toBeLessThanOrEqual(h.storage.quotaBytes);
    expect(h.storage.reservedBytes).toBe(0);
  }, 90_000);

  it('D (all-trusted) pins what A holds though no world references it', async () => {
    ids.loose = await upload(loose, 'loose');
    await waitFor(
      async () => (await meta(D, ids.loose.umid)).status === 200,
      30_000,
      'D to pin the loose model',
    );
    const got = await fetch(`${D.url}${API}/assets/${ids.loose.cid}`);
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(loose))).toBe(true);
    // It is kept: a fetched asset under all-trusted is pinned, not left to the grace period.
    expect(D.logs.join('')).toContain('asset fetched from peers and pinned');
  }, 60_000);

  it("B's admins ask which peers hold an asset; others may not; bad ids are 400", async () => {
    const adminToken = await tokenFor(B, admin.address, ethSigner(admin));
    const res = await call<{
      umid: string;
      local: boolean;
      providers: string[];
      peers: { peer_id: string }[];
    }>(B, 'GET', `${API}/assets/${ids.loose.cid}/providers`, { token: adminToken });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.umid).toBe(ids.loose.umid);
    expect(res.body.local).toBe(false);
    expect(res.body.providers.sort()).toEqual([A.peerId, D.peerId].sort());
    expect(res.body.peers.map((p) => p.peer_id).sort()).toEqual([A.peerId, D.peerId].sort());

    const nobody = await call<{ providers: string[] }>(
      B,
      'GET',
      `${API}/assets/${'0'.repeat(8)}-0000-8000-8000-${'0'.repeat(12)}/providers`,
      { token: adminToken },
    );
    expect(nobody.status).toBe(200);
    expect(nobody.body.providers).toEqual([]);

    const bad = await call(B, 'GET', `${API}/assets/not-an-id/providers`, { token: adminToken });
    expect(bad.status).toBe(400);
    const ownerOnB = await tokenFor(B, owner.address, ethSigner(owner));
    const refused = await call(B, 'GET', `${API}/assets/${ids.loose.cid}/providers`, { token: ownerOnB });
    expect(refused.status).toBe(403);
    expect((await call(B, 'GET', `${API}/assets/${ids.loose.cid}/providers`)).status).toBe(401);
  }, 60_000);

  it('concurrent downloads on B of an asset it lacks share one lookup', async () => {
    ids.demanded = await upload(demanded, 'demanded');
    const before = (await health(B)).assetLookups;
    const downloads = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await fetch(`${B.url}${API}/assets/${ids.demanded.cid}`);
        return { status: res.status, data: Buffer.from(await res.arrayBuffer()) };
      }),
    );
    for (const d of downloads) {
      expect(d.status).toBe(200);
      expect(d.data.equals(Buffer.from(demanded))).toBe(true);
    }
    const after = (await health(B)).assetLookups;
    const started = after.started - before.started;
    expect(started + after.joined - before.joined).toBe(10);
    expect(started).toBeLessThanOrEqual(3);
  }, 60_000);
});

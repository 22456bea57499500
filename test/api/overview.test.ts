/** GET /api/v4/node/overview: the dashboard's public facts, read from a real node as it changes. */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directorySize } from '../../node/overview/node-overview.ts';
import type { Overview } from '../../node/overview/overview-body.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { call } from '../support/http.ts';
import { guest, joinWorld, startNode, type TestClient, type TestNode } from '../support/node.ts';

let node: TestNode;
const clients: TestClient[] = [];

beforeAll(async () => {
  node = await startNode({ name: 'Overview node' });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.client.close()));
  await node?.cleanup();
});

const overview = async () => {
  const res = await call<Overview>(node, 'GET', '/api/v4/node/overview');
  expect(res.status).toBe(200);
  return res.body;
};

describe('GET /api/v4/node/overview', () => {
  it('is public and names the node, its sessions and the data dir', async () => {
    const o = await overview();
    expect(o.node.name).toBe('Overview node');
    expect(o.node.peerId).toBe(node.node.federation.peerId);
    expect(o.node.sessions).toBe(0);
    expect(o.node.rssBytes).toBeGreaterThan(10_000_000);
    expect(o.node.dataDirBytes).toBe(await directorySize(node.dir));
    expect(o.node.dataDirBytes).toBeGreaterThan(0);
    expect(o.harvester).toEqual({ enabled: false, chains: [] });
  });

  it('counts online users per world as people enter and leave', async () => {
    const seeded = (o: Overview) => o.worlds.find((w) => w.id === DEFAULT_WORLD_ID);
    expect(seeded(await overview())).toMatchObject({
      name: 'Odyssey Plaza',
      online: 0,
      hosted: true,
      nodes: 1,
    });
    const a = await joinWorld(node, clients, DEFAULT_WORLD_ID);
    await joinWorld(node, clients, DEFAULT_WORLD_ID);
    let o = await overview();
    expect(seeded(o)?.online).toBe(2);
    expect(o.node.sessions).toBe(2);
    await a.client.close();
    await expect.poll(async () => seeded(await overview())?.online).toBe(1);
    o = await overview();
    expect(o.node.sessions).toBe(1);
  });

  it('counts assets and lists the newest upload first', async () => {
    const before = (await overview()).assets;
    const png = await sharp({
      create: { width: 4, height: 4, channels: 3, background: { r: 1, g: 2, b: 3 } },
    })
      .png()
      .toBuffer();
    const body = new FormData();
    body.append('file', new Blob([new Uint8Array(png)]), 'dot.png');
    const who = await guest(node);
    const up = await call<{ hash: string }>(node, 'POST', '/api/v4/media/upload/image', {
      token: who.token,
      body,
    });
    expect(up.status).toBe(200);
    // Asset facts are cached for 5 s: poll until the upload shows.
    await expect
      .poll(async () => (await overview()).assets.count, { timeout: 10_000, interval: 500 })
      .toBe(before.count + 1);
    const after = (await overview()).assets;
    expect(after.bytes).toBe(before.bytes + png.length);
    expect(after.pinned + after.unpinned).toBe(after.count);
    expect(after.recent[0]).toMatchObject({
      cid: up.body.hash,
      name: 'dot', // the node keeps the name without its extension
      kind: 'image',
      size: png.length,
    });
  });
});

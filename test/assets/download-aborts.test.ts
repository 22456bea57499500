/**
 * Downloads that go wrong half-way: a client that disconnects mid-stream (or before the body starts),
 * and a DAG missing a block under a response already sent. The node must stay up, close what it opened
 * (file descriptors), and never make a cut-off body look complete.
 */
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { eventually, guest, sleep, startNode, type TestNode } from '../support/node.ts';
import { glb, upload } from './support.ts';

let node: TestNode;
let token: string;

beforeAll(async () => {
  node = await startNode();
  token = (await guest(node)).token;
});
afterAll(() => node.cleanup());

const openFds = () => readdirSync('/proc/self/fd').length;
const linux = process.platform === 'linux';

async function expectAlive() {
  const health = await call<{ status: string }>(node, 'GET', '/health');
  expect([health.status, health.body.status]).toEqual([200, 'ok']);
}

/** GETs `path`, and destroys the connection after `afterBytes` bytes of body (0: as soon as headers come). */
function abortAfter(path: string, afterBytes: number): Promise<number> {
  return new Promise((resolve) => {
    let received = 0;
    const req = request(`${node.url}${path}`, (res) => {
      if (afterBytes === 0) req.destroy();
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= afterBytes) req.destroy();
      });
      res.on('error', () => {});
      res.on('close', () => resolve(received));
    });
    req.on('error', () => resolve(received));
    req.end();
  });
}

/** GETs `path` and destroys the socket at once, before any answer. */
function abortAtOnce(path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request(`${node.url}${path}`);
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end(() => setTimeout(() => req.destroy(), 1));
  });
}

describe('a client that goes away mid-download', () => {
  it('does not crash the node on the asset, original and gateway paths', async () => {
    const model = glb(8 * 262_144, 'abort-model');
    const up = await upload(node, token, model);
    const cid = up.body.cid as string;
    for (const path of [
      `/api/v4/assets/${cid}`,
      `/api/v4/media/render/asset/${(up.body.umid as string).replace(/-/g, '')}`,
      `/ipfs/${cid}`,
      `/ipfs/${cid}?format=car`,
    ]) {
      const got = await abortAfter(path, 64 * 1024);
      expect(got, path).toBeLessThan(model.length);
      await expectAlive();
    }
    // The whole file is still served to a client that stays.
    const res = await fetch(`${node.url}/api/v4/assets/${cid}`);
    expect((await res.arrayBuffer()).byteLength).toBe(model.length);
  });

  it.runIf(linux)(
    'closes the rendition file it opened, even when the client left before the body',
    async () => {
      const picture = await sharp({
        create: { width: 600, height: 400, channels: 3, background: { r: 10, g: 200, b: 30 } },
      })
        .png({ compressionLevel: 0 })
        .toBuffer();
      const up = await upload(node, token, new Uint8Array(picture));
      const path = `/api/v4/media/render/texture/s5/${up.body.cid}`;
      // Rendered and cached once, so that the rounds below only open the cached file.
      expect((await fetch(`${node.url}${path}`)).status).toBe(200);
      const before = openFds();
      for (let i = 0; i < 20; i++) {
        await abortAtOnce(path);
        await abortAfter(path, 0);
      }
      await expectAlive();
      await eventually(() => openFds() <= before + 2, 3000, 'rendition files to be closed').catch(() => {
        throw new Error(`open file descriptors: ${before} before, ${openFds()} after 40 aborted downloads`);
      });
    },
  );
});

describe('a block missing under a CAR already being sent', () => {
  it('cuts the connection instead of ending the body cleanly, and the node stays up', async () => {
    const model = glb(6 * 262_144, 'car-missing');
    const up = await upload(node, token, model);
    const root = CID.parse(up.body.cid as string);
    const rootBlock = await node.node.assets.store.ipfs.block(root);
    const links = dagPb.decode(rootBlock as Uint8Array).Links;
    // The last leaf: everything before it is sent first.
    await node.node.assets.store.ipfs.blocks.delete(links[links.length - 1].Hash);

    const res = await fetch(`${node.url}/ipfs/${root}?format=car`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
    await sleep(50);
    await expectAlive();
  });
});

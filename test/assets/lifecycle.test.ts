/**
 * Object storage across the node's life: what a restart keeps, what the node never does on the network,
 * and `odyssey-node gc` on a stopped node's data dir.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call } from '../support/http.ts';
import { eventually, guest, sleep, startNode, type TestNode } from '../support/node.ts';
import { bytes, countBlocks, download, glb, independentCid, upload } from './support.ts';

const NODE_BIN = join(process.cwd(), 'node_modules/.bin/node');

let node: TestNode | undefined;
afterEach(async () => {
  await node?.cleanup();
  node = undefined;
});

describe('a restart', () => {
  it('keeps the bytes, the records, the UMID mapping and the pins', async () => {
    node = await startNode();
    const user = await guest(node);
    const data = glb(700_000, 'restart');
    const up = await upload(node, user.token, data, { fields: { name: 'Kept' } });
    const blocks = await countBlocks(node);
    node = await node.restart();
    const { res, data: back } = await download(`${node.url}/api/v4/assets/${up.body.umid}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    const meta = await call(node, 'GET', `/api/v4/assets/${up.body.cid}/meta`);
    expect(meta.body).toEqual(up.body);
    expect(await countBlocks(node)).toBe(blocks);
    // Helia's pins live in its LevelDB datastore; the asset is still in its grace period.
    expect(await node.node.assets.store.isPinned(CID.parse(up.body.cid as string))).toBe(true);
    expect((await node.node.assets.store.get(up.body.cid as string))?.releasedAt).toBeTypeOf('number');
    // The same peer id: the node key is persisted.
    const peer = node.node.assets.host.peerId.toString();
    node = await node.restart();
    expect(node.node.assets.host.peerId.toString()).toBe(peer);
  });
});

describe('network hygiene', () => {
  it('a node with defaults listens only on loopback, has no routers or discovery, and dials no one', async () => {
    node = await startNode();
    const host = node.node.assets.host;
    const helia = node.node.assets.store.ipfs.helia;
    const dial = vi.spyOn(host, 'dial');
    const dialProtocol = vi.spyOn(host, 'dialProtocol');
    // Federation listens (TCP and WebSockets, on the node's host: loopback by default) but dials nobody
    // unless bootstrap peers are configured.
    const listening = host.getMultiaddrs().map(String);
    expect(listening).toHaveLength(2);
    for (const a of listening) expect(a).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+(\/ws)?\/p2p\//);
    expect(Object.keys(host.services).sort()).toEqual(['identify', 'ping', 'pubsub']);
    expect(Reflect.get(helia.routing, 'routers')).toEqual([]);
    for (const name of ['libp2p-router', 'http-gateway-router', 'delegated-http-routing']) {
      expect(helia.hasRouter(name), name).toBe(false);
    }
    expect(helia.hasBlockBroker('bitswap')).toBe(true);
    expect(helia.hasBlockBroker('trustless-gateway')).toBe(false);

    // Ask Helia for a block it does not have: bitswap wants it, finds no provider, and gives up.
    const absent = await independentCid(bytes(100, 'not-here'));
    await expect(helia.blockstore.get(absent, { signal: AbortSignal.timeout(300) }).next()).rejects.toThrow();
    const user = await guest(node);
    await upload(node, user.token, glb(300_000, 'hygiene'));
    expect((await fetch(`${node.url}/ipfs/${absent}`)).status).toBe(404);

    expect(dial).not.toHaveBeenCalled();
    expect(dialProtocol).not.toHaveBeenCalled();
    expect(host.getConnections()).toEqual([]);
    expect(host.getDialQueue()).toEqual([]);
    expect(await host.peerStore.all()).toEqual([]);
  });
});

describe('an upload cut off half-way', () => {
  it('stores nothing and does not hold garbage collection back', async () => {
    node = await startNode({ assetGcGraceMs: 0 });
    const user = await guest(node);
    const before = await countBlocks(node);
    const boundary = 'cut-off-boundary';
    const req = request(`${node.url}/api/v4/assets`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${user.token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
    });
    req.on('error', () => {});
    let blocksSeen = 0;
    const poll = setInterval(async () => {
      if (node) blocksSeen = (await countBlocks(node)) - before;
    }, 20);
    req.write(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.glb"\r\n\r\n`);
    // The importer writes leaves in batches (10 at a time): send enough for some to reach the blockstore.
    req.write(glb(6_000_000, 'cut-off'));
    await eventually(() => blocksSeen > 0, 5000, 'the first blocks');
    clearInterval(poll);
    req.destroy();
    // The import must have let go of the gate: a GC gets through, and clears what the import wrote.
    const report = await Promise.race([
      node.node.assets.keeper.gc(),
      sleep(5000).then(() => {
        throw new Error('gc blocked by a dead upload');
      }),
    ]);
    expect(report.assets).toEqual([]);
    expect(report.blocks).toBeGreaterThan(0);
    expect(await countBlocks(node)).toBe(before);
    const list = await call<{ assets: unknown[] }>(node, 'GET', '/api/v4/assets?mine=true', {
      token: user.token,
    });
    expect(list.body.assets).toEqual([]);
  });
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE_BIN, ['bin/odyssey-node.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('odyssey-node gc', () => {
  it('collects on a stopped node and refuses to run next to a running one', async () => {
    node = await startNode();
    const user = await guest(node);
    const up = await upload(node, user.token, glb(50_000, 'cli-gc'));
    const busy = await run(['gc', '--data', node.dir]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/POST \/api\/v4\/assets\/gc/);
    await node.stop();

    const graceful = await run(['gc', '--data', node.dir]);
    expect(graceful.code).toBe(0);
    expect(JSON.parse(graceful.stdout)).toEqual({ removed_assets: [], removed_blocks: 0 });
    const now = await run(['gc', '--data', node.dir, '--asset-gc-grace-ms', '0']);
    expect(now.code, now.stderr).toBe(0);
    expect(JSON.parse(now.stdout)).toEqual({ removed_assets: [up.body.cid], removed_blocks: 1 });

    node = await startNode({}, node.dir);
    expect((await call(node, 'GET', `/api/v4/assets/${up.body.cid}/meta`)).status).toBe(404);
  }, 90_000); // two node starts and three CLI runs, each a process that loads the node's modules
});

/**
 * Local downloads written straight to the Node response (api/direct-body.ts) with pooled buffers
 * (storage/assets/read-pool.ts), against the web-stream path they replace: the same status, headers and
 * bytes (CORS and Vary added by middleware after the handler included), every range case, HEAD; the
 * connection cut when the file does not hold the bytes announced; a client that leaves mid-download
 * gives back every buffer and file descriptor. A real node on loopback, real HTTP clients.
 */
import { readdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import * as dagPb from '@ipld/dag-pb';
import { Hono } from 'hono';
import { CID } from 'multiformats/cid';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFile } from '../../api/asset-http.ts';
import { withDirectBodies } from '../../api/direct-body.ts';
import { assetTables } from '../../storage/assets/asset-store.ts';
import { call } from '../support/http.ts';
import { eventually, guest, startNode, type TestNode } from '../support/node.ts';
import { glb, upload } from './support.ts';

const LEAF = 262_144;
const ORIGIN = 'https://viewer.example';

let node: TestNode;
let token: string;
/** The same app served as before this path existed: node-server pumping the web stream. */
let webStreamServer: Server;
let webStreamUrl: string;
let model: Uint8Array;
let cid: string;

beforeAll(async () => {
  // A list of origins: the CORS middleware then appends `Vary: Origin` after the handler has answered.
  node = await startNode({ cors: `${ORIGIN},https://other.example` });
  token = (await guest(node)).token;
  webStreamServer = createServer(getRequestListener(node.node.app.fetch));
  await new Promise<void>((resolve) => webStreamServer.listen(0, '127.0.0.1', resolve));
  webStreamUrl = `http://127.0.0.1:${(webStreamServer.address() as AddressInfo).port}`;
  model = glb(5 * LEAF + 1234, 'direct-download');
  cid = (await upload(node, token, model)).body.cid as string;
});
afterAll(async () => {
  await new Promise((resolve) => webStreamServer.close(resolve));
  await node.cleanup();
});

const pool = () => node.node.assets.store.readPool.stats;
const openFds = () => readdirSync('/proc/self/fd').length;
const linux = process.platform === 'linux';

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The connection was cut before the body was complete. */
  cut: boolean;
}

/** A request with node:http: status, headers as sent, body, and whether the body was cut short. */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      let cut = false;
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('aborted', () => {
        cut = true;
      });
      res.on('error', () => {
        cut = true;
      });
      res.on('close', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts),
          cut: cut || !res.complete,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Headers without the date (which differs from one second to the next). */
const comparable = (headers: Got['headers']) => {
  const { date: _, ...rest } = headers;
  return rest;
};

describe('a local download written straight to the socket', () => {
  it('sends the same status, headers and bytes as the web-stream path, and uses the pool', async () => {
    const path = `/api/v4/assets/${cid}`;
    const cases: Record<string, string>[] = [
      {},
      { origin: ORIGIN },
      { origin: ORIGIN, range: 'bytes=100-300000' },
      { range: `bytes=-${LEAF + 10}` },
    ];
    for (const headers of cases) {
      const before = pool().lent;
      const direct = await get(node.url, path, headers);
      const afterDirect = pool().lent;
      const web = await get(webStreamUrl, path, headers);
      const label = JSON.stringify(headers);
      expect(direct.status, label).toBe(web.status);
      expect(comparable(direct.headers), label).toEqual(comparable(web.headers));
      expect(direct.body.equals(web.body), label).toBe(true);
      expect(direct.cut || web.cut, label).toBe(false);
      // The direct path ran (it borrowed a buffer per leaf read, all given back); the web stream borrows none.
      expect(afterDirect - before, label).toBeGreaterThanOrEqual(2);
      expect(pool().lent, label).toBe(afterDirect);
      expect(pool().leased, label).toBe(0);
    }
    const withOrigin = await get(node.url, path, { origin: ORIGIN });
    expect(withOrigin.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(withOrigin.headers.vary).toBe('Origin');
    expect(withOrigin.headers['content-length']).toBe(String(model.length));
    expect(withOrigin.headers.etag).toBe(`"${cid}"`);
    expect(withOrigin.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(withOrigin.headers['content-type']).toBe('model/gltf-binary');
    expect(Buffer.from(model).equals(withOrigin.body)).toBe(true);

    // Without a Node response (app.request), the web stream still carries the same bytes.
    const fallback = await node.node.app.request(path, { headers: { origin: ORIGIN } });
    expect(fallback.status).toBe(200);
    expect(fallback.headers.get('vary')).toBe('Origin');
    expect(Buffer.from(await fallback.arrayBuffer()).equals(Buffer.from(model))).toBe(true);
  });

  it('serves every range case as the web-stream path does: 206, whole body, 416, If-Range, HEAD, 304', async () => {
    const size = model.length;
    const ranges = [
      'bytes=0-0',
      `bytes=${size - 1}-${size - 1}`,
      `bytes=${LEAF - 1}-${LEAF}`, // the last byte of a leaf and the first of the next
      `bytes=${LEAF}-${2 * LEAF - 1}`, // exactly one leaf
      `bytes=${LEAF + 7}-`,
      `bytes=-${size + 100}`, // a suffix longer than the file: all of it, as 206
      `bytes=10-${size * 2}`,
      'bytes=0-1,5-6', // several ranges: the whole file, 200
      'bytes=5-1', // end before start: the whole file, 200
      'items=0-10', // not bytes: the whole file, 200
      `bytes=${size}-`, // 416
      'bytes=-0', // 416
    ];
    for (const range of ranges) {
      const direct = await get(node.url, `/api/v4/assets/${cid}`, { range });
      const web = await get(webStreamUrl, `/api/v4/assets/${cid}`, { range });
      expect(direct.status, range).toBe(web.status);
      expect(comparable(direct.headers), range).toEqual(comparable(web.headers));
      expect(direct.body.equals(web.body), range).toBe(true);
      if (direct.status === 206) {
        const [, from, to] = /bytes (\d+)-(\d+)\//.exec(String(direct.headers['content-range'])) ?? [];
        expect(direct.body.equals(Buffer.from(model.subarray(Number(from), Number(to) + 1))), range).toBe(
          true,
        );
      }
    }
    expect((await get(node.url, `/api/v4/assets/${cid}`, { range: `bytes=${size}-` })).status).toBe(416);
    const partial = await get(node.url, `/api/v4/assets/${cid}`, { range: 'bytes=0-0' });
    expect([partial.status, partial.headers['content-range']]).toEqual([206, `bytes 0-0/${size}`]);

    // If-Range naming another version: the whole file.
    const ifRange = await get(node.url, `/api/v4/assets/${cid}`, {
      range: 'bytes=0-9',
      'if-range': '"other"',
    });
    expect([ifRange.status, ifRange.body.length]).toEqual([200, size]);
    const head = await get(node.url, `/api/v4/assets/${cid}`, { range: 'bytes=0-9' }, 'HEAD');
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([206, '10', 0]);
    const cached = await get(node.url, `/api/v4/assets/${cid}`, { 'if-none-match': `"${cid}"` });
    expect([cached.status, cached.body.length]).toEqual([304, 0]);
    // The gateway and the original's path take the same road.
    const gateway = await get(node.url, `/ipfs/${cid}`, { range: `bytes=${LEAF - 5}-${LEAF + 5}` });
    expect(gateway.body.equals(Buffer.from(model.subarray(LEAF - 5, LEAF + 6)))).toBe(true);
    expect(pool().leased).toBe(0);
  });
});

describe('a local file that does not hold the bytes announced', () => {
  /** Uploads a file and returns its CID and the CIDs of its leaves. */
  async function stored(seed: string, leaves: number) {
    const data = glb(leaves * LEAF, seed);
    const root = CID.parse((await upload(node, token, data)).body.cid as string);
    const block = await node.node.assets.store.ipfs.block(root);
    return { data, root, leaves: dagPb.decode(block as Uint8Array).Links.map((l) => l.Hash) };
  }

  it('cuts the connection when a leaf is missing, when the record says more or fewer bytes', async () => {
    const missing = await stored('direct-missing-leaf', 6);
    await node.node.assets.store.ipfs.blocks.delete(missing.leaves[3]);
    const gotMissing = await get(node.url, `/api/v4/assets/${missing.root}`);
    expect(gotMissing.status).toBe(200);
    expect(gotMissing.cut).toBe(true);
    expect(gotMissing.body.length).toBeLessThan(missing.data.length);

    // The record announces 1,000 bytes more than the DAG holds: ended short, so cut.
    const longer = await stored('direct-longer', 3);
    const db = assetTables(node.node.db).assets;
    const record = await db.get(longer.root.toString());
    if (!record) throw new Error('no record');
    await db.put(longer.root.toString(), { ...record, size: record.size + 1000 });
    const gotLonger = await get(node.url, `/api/v4/assets/${longer.root}`);
    expect([gotLonger.status, gotLonger.headers['content-length']]).toEqual([
      200,
      String(record.size + 1000),
    ]);
    expect(gotLonger.cut).toBe(true);

    // The record announces fewer bytes than the DAG holds: the reader is asked for the announced length
    // only, so the first bytes go out whole, and no more.
    await db.put(longer.root.toString(), { ...record, size: record.size - 1000 });
    const gotShorter = await get(node.url, `/api/v4/assets/${longer.root}`);
    expect(gotShorter.cut).toBe(false);
    expect(gotShorter.body.equals(Buffer.from(longer.data.subarray(0, record.size - 1000)))).toBe(true);

    expect(pool().leased).toBe(0);
    expect((await call<{ status: string }>(node, 'GET', '/health')).status).toBe(200);
  });
});

describe('a client that leaves mid-download', () => {
  it.runIf(linux)('gives back every pooled buffer and file descriptor, and the node stays up', async () => {
    const big = glb(40 * LEAF, 'direct-abort');
    const bigCid = (await upload(node, token, big)).body.cid as string;
    // A download that is read to the end first: the pool holds its buffers, the process its usual fds.
    expect((await get(node.url, `/api/v4/assets/${bigCid}`)).body.length).toBe(big.length);
    const fdsBefore = openFds();

    const leaveAfter = (bytes: number, pauseFirst: boolean) =>
      new Promise<number>((resolve) => {
        let received = 0;
        const req = request(`${node.url}/api/v4/assets/${bigCid}`, { agent: false }, (res) => {
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received < bytes) return;
            if (!pauseFirst) return req.destroy();
            // Stops reading, so the node's writes back up on the socket, then leaves.
            res.pause();
            setTimeout(() => req.destroy(), 50);
          });
          res.on('error', () => {});
          res.on('close', () => resolve(received));
        });
        req.on('error', () => resolve(received));
        req.end();
      });

    for (let i = 0; i < 10; i++) {
      expect(await leaveAfter(64 * 1024, i % 2 === 1)).toBeLessThan(big.length);
    }
    await eventually(() => pool().leased === 0, 3000, 'every pooled buffer to come back').catch(() => {
      throw new Error(`pool after 10 cut downloads: ${JSON.stringify(pool())}`);
    });
    await eventually(() => openFds() <= fdsBefore + 2, 3000, 'block files to be closed').catch(() => {
      throw new Error(`open file descriptors: ${fdsBefore} before, ${openFds()} after 10 cut downloads`);
    });
    expect((await call<{ status: string }>(node, 'GET', '/health')).status).toBe(200);
    // The pool keeps a bounded number of free buffers, whatever the traffic was.
    expect(pool().free).toBeLessThanOrEqual(16);
  });
});

describe('a direct body whose source misbehaves (a hand-made source behind a real server)', () => {
  it('cuts the connection on more bytes than announced, on fewer, and on a failing source; every lease released', async () => {
    const announced = 3 * 1000;
    let lent = 0;
    let released = 0;
    const chunk = (fill: number) => {
      lent++;
      return { bytes: Buffer.alloc(1000, fill), release: () => void released++ };
    };
    const sources: Record<string, () => AsyncGenerator<{ bytes: Uint8Array; release(): void }>> = {
      exact: async function* () {
        for (let i = 0; i < 3; i++) yield chunk(i);
      },
      more: async function* () {
        for (let i = 0; i < 5; i++) yield chunk(i);
      },
      fewer: async function* () {
        yield chunk(1);
      },
      failing: async function* () {
        yield chunk(1);
        throw new Error('the disk went away');
      },
    };
    const app = new Hono();
    app.get('/:name', (ctx) =>
      serveFile(
        ctx,
        {
          cid: CID.parse(cid),
          size: announced,
          mime: 'application/octet-stream',
          read: () => {
            throw new Error('the web stream is not used under the wrapper');
          },
          readLeased: () => sources[ctx.req.param('name')](),
        },
        pino({ level: 'silent' }),
      ),
    );
    const server = createServer(getRequestListener(withDirectBodies(app.fetch)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const exact = await get(base, '/exact');
      expect([exact.status, exact.cut, exact.body.length]).toEqual([200, false, announced]);
      for (const name of ['more', 'fewer', 'failing']) {
        // The status line and what was written before the failure arrive, then the cut.
        const lentBefore = lent;
        const got = await get(base, `/${name}`);
        // The direct path ran (the web stream would also be cut, but it lends nothing).
        expect(lent, name).toBeGreaterThan(lentBefore);
        expect([got.status, got.headers['content-length'], got.cut], name).toEqual([
          200,
          String(announced),
          true,
        ]);
        expect(got.body.length, name).toBeLessThanOrEqual(announced);
      }
      await eventually(() => released === lent, 2000, 'every lease to be released');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a direct body whose read ahead fails while a slow client holds the writer up', () => {
  it('cuts that connection and nothing else: no unhandled rejection, the server goes on serving', async () => {
    // Pieces of 4 MiB: a client that stops reading fills the loopback socket's buffers within a few, and
    // the writer then waits for 'drain' with the next piece being read ahead.
    const piece = 4 * 1024 * 1024;
    const pieces = 16;
    let failAt = Number.POSITIVE_INFINITY;
    const app = new Hono();
    app.get('/f', (ctx) =>
      serveFile(
        ctx,
        {
          cid: CID.parse(cid),
          size: pieces * piece,
          mime: 'application/octet-stream',
          read: () => {
            throw new Error('the web stream is not used under the wrapper');
          },
          // Read number `failAt` fails, as a block removed by GC, EIO or EMFILE would.
          readLeased: async function* () {
            for (let i = 0; i < pieces; i++) {
              if (i === failAt) throw new Error(`piece ${i}: no such block`);
              yield { bytes: Buffer.alloc(piece, i & 0xff), release() {} };
            }
          },
        },
        pino({ level: 'silent' }),
      ),
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const server = createServer(getRequestListener(withDirectBodies(app.fetch)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    /** Sends the request and stops reading (a slow link) for a while, then reads on; true when cut short. */
    const stalled = async (): Promise<boolean> => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      let received = 0;
      socket.on('data', (d: Buffer) => {
        received += d.length;
      });
      const closed = new Promise((r) => socket.once('close', r));
      await new Promise((r) => socket.once('connect', r));
      socket.write('GET /f HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      socket.pause();
      await new Promise((r) => setTimeout(r, 300));
      socket.resume();
      await closed;
      return received < pieces * piece;
    };
    try {
      // Whichever read is the one made while the writer waits, one of these fails there.
      for (failAt = 1; failAt <= 6; failAt++) expect(await stalled(), `failing read ${failAt}`).toBe(true);
      expect(unhandled).toEqual([]);
      failAt = Number.POSITIVE_INFINITY;
      const whole = await get(`http://127.0.0.1:${port}`, '/f');
      expect([whole.status, whole.cut, whole.body.length]).toEqual([200, false, pieces * piece]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/**
 * The cap on on-demand asset lookups (node/assets/asset-fetcher.ts, ON_DEMAND_LOOKUPS): the real assets
 * component (Helia, LevelDB, the asset-record protocol) on a real libp2p host, connected on loopback to a
 * trusted peer that takes record requests and never answers (a peer that is slow or gone). Nine downloads
 * of distinct missing CIDs at once: only eight lookups reach the peer; the ninth waits for a slot and goes
 * out only once one of the eight gave up at its timeout; every one ends in AssetFetchTimeout (a 504),
 * never a hang.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetFetchTimeout, ON_DEMAND_LOOKUPS } from '../../node/assets/asset-fetcher.ts';
import { type Assets, startAssets } from '../../node/assets/index.ts';
import { ASSET_RECORD_PROTOCOL } from '../../node/assets/record-exchange.ts';
import { loadConfig } from '../../node/config.ts';
import { createP2pHost, type P2pHost } from '../../node/federation/p2p-host.ts';
import { HybridClock } from '../../node/world/hlc.ts';
import { WorldStore } from '../../node/world/world-store.ts';
import { Database } from '../../storage/db/database.ts';

const TIMEOUT_MS = 2500;
const silent = pino({ level: 'silent' });
const network = { host: '127.0.0.1', tcpPort: 0, wsPort: 0, maxMessageBytes: 1 << 20 };

let dir: string;
let db: Database;
let host: P2pHost;
let peer: P2pHost;
let assets: Assets;
/** Record requests the silent peer received, with when. */
const requests: { umid: string; at: number }[] = [];
const held: Stream[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odyssey-asset-lookups-'));
  db = new Database(join(dir, 'db'));
  await db.open();
  const worlds = new WorldStore({ db, clock: new HybridClock('lookups') });
  await worlds.start();
  host = await createP2pHost({ keyFile: join(dir, 'key-a'), name: 'a', version: '0', network });
  peer = await createP2pHost({ keyFile: join(dir, 'key-b'), name: 'b', version: '0', network });
  await peer.handle(
    ASSET_RECORD_PROTOCOL,
    async (stream) => {
      try {
        const request = JSON.parse(Buffer.from((await lpStream(stream).read()).subarray()).toString());
        requests.push({ umid: request.umid, at: Date.now() });
        held.push(stream); // never answered
      } catch {
        stream.abort(new Error('bad request'));
      }
    },
    { maxInboundStreams: 64 },
  );
  const config = loadConfig({
    flags: { data: dir, pin: 'none', assetFetchTimeoutMs: String(TIMEOUT_MS) },
  });
  assets = await startAssets({
    config,
    db,
    worlds,
    logger: silent,
    host,
    isTrusted: () => true,
    seedStarters: false,
  });
  await host.dial(peer.getMultiaddrs()[0]);
}, 60_000);

afterAll(async () => {
  for (const s of held) s.abort(new Error('test over'));
  await assets?.stop();
  await host?.stop();
  await peer?.stop();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
}, 30_000);

const missingCid = async (i: number) =>
  CID.create(
    1,
    raw.code,
    await sha256.digest(new TextEncoder().encode(`missing asset ${i} ${Math.random()}`)),
  );

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('on-demand asset lookups', () => {
  it(`run at most ${ON_DEMAND_LOOKUPS} at once; the next waits for a slot, and none hangs`, async () => {
    const cids = await Promise.all(Array.from({ length: ON_DEMAND_LOOKUPS + 1 }, (_, i) => missingCid(i)));
    const lookup = (cid: CID) =>
      assets.fetcher.onDemand({ cid }).then(
        () => 'answered' as const,
        (error: unknown) => error,
      );
    const started = Date.now();
    const first = cids.slice(0, ON_DEMAND_LOOKUPS).map(lookup);
    while (requests.length < ON_DEMAND_LOOKUPS && Date.now() - started < TIMEOUT_MS) await settle(20);
    expect(requests).toHaveLength(ON_DEMAND_LOOKUPS);

    // Halfway through their timeout, a ninth download of another missing asset: it must wait.
    await settle(TIMEOUT_MS / 2 - (Date.now() - started));
    const ninthStarted = Date.now();
    const ninth = lookup(cids[ON_DEMAND_LOOKUPS]);
    await settle(TIMEOUT_MS / 4);
    expect(requests).toHaveLength(ON_DEMAND_LOOKUPS);
    expect(assets.fetcher.lookupStats.started).toBe(ON_DEMAND_LOOKUPS + 1);

    // The eight give up at their timeout (504), freeing slots: only then does the ninth go out.
    for (const r of await Promise.all(first)) expect(r).toBeInstanceOf(AssetFetchTimeout);
    const firstDone = Date.now();
    const ninthResult = await ninth;
    expect(ninthResult).toBeInstanceOf(AssetFetchTimeout);
    expect(requests).toHaveLength(ON_DEMAND_LOOKUPS + 1);
    expect(requests[ON_DEMAND_LOOKUPS].at).toBeGreaterThanOrEqual(started + TIMEOUT_MS - 50);
    expect(requests[ON_DEMAND_LOOKUPS].at).toBeLessThanOrEqual(firstDone + 50);
    // Its own timeout counted from its start: it ended about TIMEOUT_MS after it was asked for, not later.
    expect(Date.now() - ninthStarted).toBeLessThan(TIMEOUT_MS + 1500);
  }, 30_000);
});

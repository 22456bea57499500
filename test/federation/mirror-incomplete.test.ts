/**
 * A mirror whose pull is cut midway: B mirrors a world of several sync windows from the only holder it
 * knows, the test's peer P, which resets the stream (and later drops the connection, as a holder that
 * dies) after two windows. What B then stores is part of the world: B does not announce it, let a
 * teleport in, or answer a third node's (the test peer Q's) sync for it, neither before nor after a
 * restart, and pulls it again; once A, an honest holder, is reachable, the pull completes and B has the
 * world whole, announced, entered and served. Real in-process nodes, real libp2p on loopback, real LevelDB.
 */
import { randomUUID } from 'node:crypto';
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestsOf, objectOps } from '../../node/federation/world-digests.ts';
import type { WorldState } from '../../node/world/world-store.ts';
import { WorldNotFoundError } from '../../protocol/client/index.ts';
import {
  DIRECTORY_TOPIC,
  decodeAnnouncement,
  decodeSyncFrame,
  decodeSyncRequest,
  encodeSyncFrame,
  SYNC_WINDOW,
  type WireOp,
  WORLD_SYNC_PROTOCOL,
} from '../../protocol/gossip/index.ts';
import { waitFor } from '../support/federation.ts';
import {
  connectGuest,
  guest,
  seedWorld,
  startNode,
  type TestClient,
  type TestNode,
} from '../support/node.ts';
import {
  announceTo,
  dialableNode,
  NODE_MAX_MESSAGE_BYTES,
  startTestPeer,
  type TestPeer,
} from '../support/test-peer.ts';

const OWNER = randomUUID();
const WORLD = randomUUID();
const OBJECTS = SYNC_WINDOW * 3 + 7;
/** Object frames P sends before it cuts: two whole windows (B asked for the third), then some. */
const CUT_AFTER = SYNC_WINDOW * 2 + 10;
const MAX_FRAME = 16 * 1024 * 1024;

let a: TestNode;
let b: TestNode;
/** The holder that cuts every pull. */
let p: TestPeer;
/** The third node: asks B for the world, and hears B's announcements. */
let q: TestPeer;
const clients: TestClient[] = [];
/** How P cuts a pull: resets the stream, or drops the connection (from B's side, the holder died). */
let cut: 'reset' | 'hang-up' = 'reset';
/** World syncs P was asked for, and those it cut. */
let asked = 0;
let cuts = 0;

const empty: WorldState = { id: '', objects: new Map(), attributes: new Map() };

/** What A has of the world, one frame per object, the world first (its attributes left out). */
function frames(): WireOp[][] {
  const state = a.node.store.get(WORLD) ?? empty;
  const root = state.objects.get(WORLD);
  const rest = [...state.objects.values()].filter((o) => o.id !== WORLD);
  return [...(root ? [root] : []), ...rest].map((o) => objectOps(WORLD, o, []));
}

async function answerAndCut(stream: Stream, connection: Connection): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME });
  try {
    decodeSyncRequest((await lp.read()).subarray(), MAX_FRAME);
    asked++;
    const all = frames();
    for (let i = 0; i < CUT_AFTER; i++) {
      await lp.write(encodeSyncFrame({ t: 'ops', ops: all[i] }));
      if ((i + 1) % SYNC_WINDOW === 0) decodeSyncFrame((await lp.read()).subarray(), MAX_FRAME);
    }
    cuts++;
    if (cut === 'reset') stream.abort(new Error('cut by the test'));
    else await p.host.hangUp(connection.remotePeer);
  } catch (error) {
    stream.abort(error as Error);
  }
}

/** The worlds in B's next announcement, as a third node hears it. */
async function announcedByB(): Promise<string[]> {
  const data = await q.nextFrom(DIRECTORY_TOPIC, b.node.federation.peerId, () => {});
  return decodeAnnouncement(data, NODE_MAX_MESSAGE_BYTES).worlds.map((w) => w.id);
}

/** A fresh guest's teleport into the world on B: its SetWorld, or the error it was refused with. */
async function teleportOnB(): Promise<unknown> {
  const c = await connectGuest(b);
  clients.push(c);
  return c.client.teleport(WORLD).catch((error: unknown) => error);
}

/** B's REST answer for the world, and whether B's dashboard overview says B hosts it. */
async function worldOnB(): Promise<{ status: number; hosted: boolean }> {
  const { token } = await guest(b);
  const res = await fetch(`${b.url}/api/v4/worlds/${WORLD}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await res.body?.cancel();
  const overview = (await (await fetch(`${b.url}/api/v4/node/overview`)).json()) as {
    worlds: { id: string; hosted: boolean }[];
  };
  return { status: res.status, hosted: overview.worlds.some((w) => w.id === WORLD && w.hosted) };
}

/** P and Q connected to B (again, after its restart), on the directory topic, P announcing the world. */
async function connectPeers(): Promise<void> {
  const self = dialableNode(b);
  await q.dial([self]);
  await q.subscribe(DIRECTORY_TOPIC, [self]);
  // P stays subscribed; after a restart B may pull from it, and be dropped, before a wait for B's
  // subscription would see it.
  await p.dial([self]);
  if (!p.pubsub.getTopics().includes(DIRECTORY_TOPIC)) await p.subscribe(DIRECTORY_TOPIC, [self]);
}

/** B's part of the world is withheld everywhere: not announced, not entered, not answered to Q. */
async function expectWithheld(): Promise<void> {
  const part = b.node.store.peek(WORLD);
  expect(part?.objects.size).toBeGreaterThanOrEqual(SYNC_WINDOW * 2);
  expect(part?.objects.size).toBeLessThan(OBJECTS + 1);
  // Soft: each way the part could leak is reported on its own.
  expect.soft(await announcedByB()).not.toContain(WORLD);
  expect.soft(await teleportOnB()).toBeInstanceOf(WorldNotFoundError);
  expect.soft(await q.pullWorld(dialableNode(b), WORLD)).toEqual([{ t: 'refused', reason: 'unknown_world' }]);
  expect.soft(await worldOnB()).toEqual({ status: 404, hosted: false });
}

beforeAll(async () => {
  a = await startNode({ trust: 'all', announceIntervalMs: 200 });
  await seedWorld(a.node.store, WORLD, OWNER, OBJECTS);
  p = await startTestPeer('cutter');
  q = await startTestPeer('asker');
  await p.host.handle(WORLD_SYNC_PROTOCOL, (stream, connection) => answerAndCut(stream, connection));
  b = await startNode({
    trust: [a.node.federation.peerId, p.peerId, q.peerId].join(','),
    announceIntervalMs: 200,
    federationSyncIntervalMs: 2000,
  });
  await connectPeers();
  await announceTo(p, b, [{ id: WORLD, name: 'Big', ownerId: OWNER, online: 0 }]);
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.client.close()));
  await q?.stop();
  await p?.stop();
  await b?.cleanup();
  await a?.cleanup();
}, 60_000);

describe('a mirror whose pull is cut midway', () => {
  it('is not announced, entered or served while only part of it is here', async () => {
    expect(await b.node.federation.mirror(WORLD)).toBe(false);
    expect(cuts).toBeGreaterThanOrEqual(1);
    await expectWithheld();
    // The teleport asked a holder again (and P cut that pull too).
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(await b.node.federation.mirror(WORLD)).toBe(false);
  }, 60_000);

  it('restarted meanwhile, the node still withholds the part it loads, and pulls it again', async () => {
    cut = 'hang-up';
    const before = asked;
    b = await b.restart();
    await connectPeers();
    // P's first announcement to the restarted B starts a pull, which P cuts by dropping the connection.
    await waitFor(() => asked > before, 15_000, 'B to pull the world again from P');
    await waitFor(
      () => b.node.federation.connectedPeers().every((peer) => peer !== p.peerId),
      15_000,
      'P to drop B',
    );
    await expectWithheld();
    expect(await b.node.federation.mirror(WORLD)).toBe(false);
  }, 90_000);

  it('is made whole by the first pull that completes, then announced, entered and served', async () => {
    await a.node.host.dial(multiaddr(dialableNode(b).address));
    // Whole: every object, attribute and stamp A has (P left the attributes out of what it sent).
    const digests = (node: TestNode) => JSON.stringify(digestsOf(node.node.store.get(WORLD) ?? empty).sort());
    await waitFor(() => digests(b) === digests(a), 20_000, 'B to pull the rest of the world from A');
    expect(b.node.store.get(WORLD)?.objects.size).toBe(OBJECTS + 1);
    await waitFor(async () => (await announcedByB()).includes(WORLD), 10_000, 'B to announce the world');
    expect(await b.node.federation.mirror(WORLD)).toBe(true);
    expect(await teleportOnB()).toMatchObject({ type: 'SetWorld', id: WORLD });
    expect(await worldOnB()).toEqual({ status: 200, hosted: true });
    const served = await q.pullWorld(dialableNode(b), WORLD);
    expect(served.filter((f) => f.t === 'ops')).toHaveLength(OBJECTS + 1);
    expect(served.at(-1)).toEqual({ t: 'end', objects: OBJECTS + 1 });
  }, 60_000);
});

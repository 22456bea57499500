/**
 * A trusted answerer that never ends its answer: the test's peer P (real libp2p on loopback) answers a
 * world sync with the world, then a new object after another, window after window, for ever, never `end`.
 * The node B's pull of it is cut at its deadline (`--federation-pull-timeout-ms`), and a pull that would
 * bring more objects than one answer may (WorldSync's `maxObjects`, MAX_SYNC_OBJECTS in the node) is cut at
 * that many: a SyncError naming the bound, the peer counted as rejected. What came before the cut stays;
 * a mirror cut so stays incomplete (withheld); meanwhile B goes on serving HTTP and other worlds' syncs.
 * Real in-process node, real LevelDB.
 */
import { randomUUID } from 'node:crypto';
import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Peers } from '../../node/federation/peers.ts';
import { type SyncCheck, SyncError, WorldSync } from '../../node/federation/world-sync.ts';
import { HybridClock } from '../../node/world/hlc.ts';
import {
  DIRECTORY_TOPIC,
  decodeSyncFrame,
  decodeSyncRequest,
  encodeSyncFrame,
  SYNC_WINDOW,
  type WireOp,
  WORLD_SYNC_PROTOCOL,
} from '../../protocol/gossip/index.ts';
import { waitFor } from '../support/federation.ts';
import { guest, startNode, type TestNode } from '../support/node.ts';
import { announceTo, dialableNode, startTestPeer, type TestPeer } from '../support/test-peer.ts';

const OWNER = randomUUID();
/** The world P announces and answers for ever. */
const ENDLESS = randomUUID();
/** A world B holds itself, which Q pulls from B while B's pull of ENDLESS runs. */
const OWN = randomUUID();
const OWN_OBJECTS = SYNC_WINDOW + 3;
const PULL_TIMEOUT_MS = 3000;
const MAX_FRAME = 16 * 1024 * 1024;

let b: TestNode;
/** The answerer that never ends. */
let p: TestPeer;
/** Another trusted peer: asks B for its own world meanwhile. */
let q: TestPeer;
/** Object frames P sent, and P's answers that ended because B cut them. */
let sent = 0;
let cut = 0;

/** One object as P's (stamped by P's clock) ops: the world itself, or a new child of it. */
function objectOp(clock: HybridClock, worldId: string, objectId: string): WireOp {
  const fields =
    objectId === worldId
      ? { name: 'Endless', ownerId: OWNER, parentId: '' }
      : { name: `o${sent}`, ownerId: OWNER, parentId: worldId };
  return {
    kind: 'object.put',
    worldId,
    objectId,
    fields,
    stamp: clock.now(),
    origin: 'endless',
    actor: OWNER,
  };
}

async function answerForever(stream: Stream): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME });
  const clock = new HybridClock('endless');
  try {
    const { worldId } = decodeSyncRequest((await lp.read()).subarray(), MAX_FRAME);
    for (let frames = 0; ; ) {
      const objectId = frames === 0 ? worldId : randomUUID();
      await lp.write(encodeSyncFrame({ t: 'ops', ops: [objectOp(clock, worldId, objectId)] }));
      sent++;
      if (++frames % SYNC_WINDOW === 0) decodeSyncFrame((await lp.read()).subarray(), MAX_FRAME);
    }
  } catch (error) {
    cut++;
    stream.abort(error as Error);
  }
}

/** B's REST answer for a world. */
async function worldStatusOnB(worldId: string): Promise<number> {
  const { token } = await guest(b);
  const res = await fetch(`${b.url}/api/v4/worlds/${worldId}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await res.body?.cancel();
  return res.status;
}

beforeAll(async () => {
  p = await startTestPeer('endless');
  q = await startTestPeer('asker');
  await p.host.handle(WORLD_SYNC_PROTOCOL, (stream) => answerForever(stream));
  b = await startNode({
    trust: [p.peerId, q.peerId].join(','),
    announceIntervalMs: 200,
    federationPullTimeoutMs: PULL_TIMEOUT_MS,
  });
  const store = b.node.store;
  await store.apply(store.objectOp(OWN, OWN, { name: 'Own', ownerId: OWNER, parentId: '' }, OWNER));
  for (let i = 0; i < OWN_OBJECTS; i++)
    await store.apply(
      store.objectOp(OWN, randomUUID(), { name: `o${i}`, ownerId: OWNER, parentId: OWN }, OWNER),
    );
  const self = dialableNode(b);
  await q.dial([self]);
  await p.dial([self]);
  await p.subscribe(DIRECTORY_TOPIC, [self]);
  await announceTo(p, b, [{ id: ENDLESS, name: 'Endless', ownerId: OWNER, online: 0 }]);
}, 120_000);

afterAll(async () => {
  await q?.stop();
  await p?.stop();
  await b?.cleanup();
}, 60_000);

describe('a trusted answerer that never ends its answer', () => {
  it('has the pull cut at its deadline; what came stays, withheld, and the node serves meanwhile', async () => {
    const started = Date.now();
    const mirrored = b.node.federation.mirror(ENDLESS);
    // While B pulls: its own world to another peer, whole, and HTTP.
    await waitFor(() => sent > SYNC_WINDOW, 10_000, 'P to be answering');
    const served = await q.pullWorld(dialableNode(b), OWN);
    expect(served.filter((f) => f.t === 'ops')).toHaveLength(OWN_OBJECTS + 1);
    expect(served.at(-1)).toEqual({ t: 'end', objects: OWN_OBJECTS + 1 });
    expect((await fetch(`${b.url}/health`)).status).toBe(200);

    expect(await mirrored).toBe(false);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(PULL_TIMEOUT_MS - 50);
    expect(took).toBeLessThan(PULL_TIMEOUT_MS + 10_000);
    await waitFor(() => cut >= 1, 5000, 'P to see its answer cut');
    expect(b.node.federation.peers.stats(p.peerId).reasons.sync_deadline).toBeGreaterThanOrEqual(1);
    // The objects that came stay, the world first: part of a world, withheld as any cut mirror.
    const part = b.node.store.peek(ENDLESS);
    expect(part?.objects.get(ENDLESS)?.name).toBe('Endless');
    expect(part?.objects.size).toBeGreaterThan(SYNC_WINDOW);
    expect(await worldStatusOnB(ENDLESS)).toBe(404);
    expect(await q.pullWorld(dialableNode(b), ENDLESS)).toEqual([{ t: 'refused', reason: 'unknown_world' }]);
    expect(await worldStatusOnB(OWN)).toBe(200);
  }, 60_000);

  it('has the pull cut at the most objects one answer may bring, with what came before it kept', async () => {
    const maxObjects = SYNC_WINDOW * 2 + 5;
    const worldId = randomUUID();
    const peers = new Peers(p.peerId);
    // B's own parts, with its op rules: only the bound is the test's, small enough to reach.
    const sync = new WorldSync(
      {
        host: b.node.host,
        store: b.node.store,
        peers,
        logger: pino({ level: 'silent' }),
        check: Reflect.get(Reflect.get(b.node.federation, 'sync'), 'check') as SyncCheck,
        withholds: () => false,
      },
      { pullTimeoutMs: 60_000, maxObjects },
    );
    const error = await sync.pull(peerIdFromString(p.peerId), worldId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncError);
    expect((error as SyncError).context).toEqual({
      reason: 'too_many_objects',
      worldId,
      peer: p.peerId,
      objects: maxObjects,
      maxObjects,
    });
    expect(peers.stats(p.peerId).reasons).toEqual({ sync_too_many_objects: 1 });
    expect(b.node.store.peek(worldId)?.objects.size).toBe(maxObjects);
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
  }, 60_000);
});

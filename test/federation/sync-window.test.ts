/**
 * World sync of a world larger than a few flow-control windows (protocol/gossip/sync.ts SYNC_WINDOW): two
 * in-process nodes with real libp2p hosts on loopback; the late joiner ends with every object, attribute
 * and stamp the holder has, and a second sync sends nothing.
 */
import { randomUUID } from 'node:crypto';
import { peerIdFromString } from '@libp2p/peer-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestsOf } from '../../node/federation/world-digests.ts';
import { SYNC_WINDOW } from '../../protocol/gossip/index.ts';
import { waitFor } from '../support/federation.ts';
import { seedWorld, startNode, type TestNode } from '../support/node.ts';

const OWNER = randomUUID();
const WORLD = randomUUID();
const OBJECTS = SYNC_WINDOW * 4 + 7;

let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  a = await startNode({ trust: 'all', announceIntervalMs: 200 });
  b = await startNode({
    trust: 'all',
    announceIntervalMs: 200,
    bootstrap: a.node.federation.listenAddresses()[0],
  });
  await seedWorld(a.node.store, WORLD, OWNER, OBJECTS);
  await waitFor(
    () => b.node.federation.directory.holders(WORLD).length > 0,
    15_000,
    'B to hear of the world',
  );
}, 120_000);

afterAll(async () => {
  await b?.cleanup();
  await a?.cleanup();
});

describe('world sync in windows', () => {
  it('brings a world of several windows over whole, and a second pull finds nothing to send', async () => {
    expect(await b.node.federation.mirror(WORLD)).toBe(true);
    const held = a.node.store.get(WORLD);
    const mirrored = b.node.store.get(WORLD);
    expect(mirrored?.objects.size).toBe(OBJECTS + 1);
    expect(mirrored?.attributes.size).toBe(held?.attributes.size);
    expect(new Map(digestsOf(mirrored ?? { id: '', objects: new Map(), attributes: new Map() }))).toEqual(
      new Map(digestsOf(held ?? { id: '', objects: new Map(), attributes: new Map() })),
    );
    const again = await Reflect.get(b.node.federation, 'sync').pull(
      peerIdFromString(a.node.federation.peerId),
      WORLD,
    );
    expect(again).toEqual({ objects: 0, changed: 0 });
  }, 60_000);
});

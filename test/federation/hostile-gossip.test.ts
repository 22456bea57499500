/**
 * Forged and malformed gossip from a trusted peer: a real libp2p host of the test's own publishes on a
 * node's world ops topic. Every bad message is refused with its reason counted against the peer, and the
 * world stays as it was; a well-formed op the world's rules allow goes through, so the channel is live.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createP2pHost, type P2pHost } from '../../node/federation/p2p-host.ts';
import { encodeOp, opsTopic, type WireOp } from '../../protocol/gossip/index.ts';
import { waitFor } from '../support/federation.ts';
import { startNode, type TestNode } from '../support/node.ts';

const WORLD = '5e1f0d2c-7a41-4c39-9b1e-0d0000000001';
const RED_CUBE = '5e1f0d2c-7a41-4c39-9b1e-0d0000000101';
const STRANGER = '11111111-2222-4333-8444-555555555555';

let node: TestNode;
let rogue: P2pHost;
let rogueId: string;
let keyDir: string;

const stamp = (peer: string, at = Date.now()) => `${at.toString(16).padStart(12, '0')}:0000:${peer}`;
const op = (fields: Record<string, unknown>, over: Partial<WireOp> = {}): WireOp =>
  ({
    kind: 'object.put',
    worldId: WORLD,
    objectId: RED_CUBE,
    fields,
    stamp: stamp(rogueId),
    origin: rogueId,
    actor: STRANGER,
    ...over,
  }) as WireOp;

beforeAll(async () => {
  keyDir = await mkdtemp(join(tmpdir(), 'odyssey-rogue-'));
  rogue = await createP2pHost({
    keyFile: join(keyDir, 'peer-key'),
    name: 'rogue',
    version: '0',
    network: { host: '127.0.0.1', tcpPort: 0, wsPort: 0, maxMessageBytes: 4 * 1024 * 1024 },
  });
  rogueId = rogue.peerId.toString();
  node = await startNode({ trust: rogueId });
  rogue.services.pubsub?.subscribe(opsTopic(WORLD));
  await rogue.dial(multiaddr(node.node.federation.listenAddresses()[0]));
  await waitFor(
    () =>
      (rogue.services.pubsub?.getSubscribers(opsTopic(WORLD)) ?? []).some(
        (p) => p.toString() === node.node.federation.peerId,
      ),
    10_000,
    'the node to subscribe',
  );
}, 30_000);

afterAll(async () => {
  await rogue?.stop();
  await node?.cleanup();
  await rm(keyDir, { recursive: true, force: true });
});

const publish = (data: Uint8Array) => rogue.services.pubsub?.publish(opsTopic(WORLD), data);
const cube = () => node.node.store.get(WORLD)?.objects.get(RED_CUBE);
const reasons = () => node.node.federation.peers.stats(rogueId).reasons;

describe('hostile gossip from a trusted peer', () => {
  it('refuses each forgery with its reason, applies what the rules allow, and keeps running', async () => {
    const name = cube()?.name;
    // A second world on the node: its root must not be reachable through the first world's topic.
    const store = node.node.store;
    const other = '22222222-3333-4444-8555-666666666666';
    await store.apply(
      store.objectOp(other, other, { name: 'Elsewhere', ownerId: STRANGER, parentId: '' }, STRANGER),
    );
    const otherNode = '12D3KooWQYiDhkRWYcokyNJUmsafNCt87qjDFBtMsaMaDt6SNTZj';
    const forgeries: [string, Uint8Array][] = [
      ['not_cbor', new Uint8Array([0xff, 0x00, 0x13, 0x37])],
      ['bad_version', new Uint8Array([0xa1, 0x61, 0x76, 0x02])],
      ['not_origin', encodeOp(op({ name: 'Forged' }, { origin: otherNode, stamp: stamp(otherNode) }))],
      ['bad_stamp', encodeOp(op({ name: 'Forged' }, { stamp: 'yesterday' }))],
      ['clock_skew', encodeOp(op({ name: 'Forged' }, { stamp: stamp(rogueId, Date.now() + 3_600_000) }))],
      ['bad_fields', encodeOp(op({ name: 42 }))],
      ['bad_fields', encodeOp(op({ secretField: 'x' }))],
      ['not_allowed', encodeOp(op({ name: 'Renamed by a stranger' }))],
      ['wrong_topic', encodeOp(op({ name: 'Forged' }, { worldId: STRANGER }))],
      ['bad_field', encodeOp(op({ name: 'Forged' }, { objectId: 'not-an-id' }))],
      // "A new object of this world" with the id of another world's root: objects are stored by id alone.
      [
        'wrong_world',
        encodeOp(op({ name: 'Taken over', ownerId: STRANGER, parentId: WORLD }, { objectId: other })),
      ],
      ['bad_fields', encodeOp(op({ ownerId: 'not-a-user' }))],
    ];
    for (const [, data] of forgeries) await publish(data);
    const expected: Record<string, number> = {};
    for (const [reason] of forgeries) expected[reason] = (expected[reason] ?? 0) + 1;
    await waitFor(
      () => Object.entries(expected).every(([r, n]) => (reasons()[r] ?? 0) >= n),
      10_000,
      `rejections ${JSON.stringify(expected)} (have ${JSON.stringify(reasons())})`,
    );
    expect(cube()?.name).toBe(name);
    expect(store.get(other)?.objects.get(other)?.name).toBe('Elsewhere');

    // The default world is open for editing: anyone may move its shapes, from any node.
    const transform = {
      position: { x: 7, y: 1, z: 7 },
      rotation: { x: 0, y: 0, z: 0 },
      scale: { x: 2, y: 2, z: 2 },
    };
    await publish(encodeOp(op({ transform })));
    await waitFor(() => cube()?.transform.position.x === 7, 10_000, 'the allowed move');
    expect(cube()?.name).toBe(name);
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  }, 30_000);
});

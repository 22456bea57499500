/**
 * A trusted peer that announces worlds it cannot (or will not) hand over, to a node that mirrors every
 * world its trusted peers announce (`--replicate all`): the node asks for such a world once, not on
 * every announcement. The peer is the test's own libp2p host (test-peer.ts) on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIRECTORY_TOPIC, encodeAnnouncement } from '../../protocol/gossip/index.ts';
import { waitFor } from '../support/federation.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { dialableNode, startTestPeer, type TestPeer } from '../support/test-peer.ts';

let node: TestNode;
let peer: TestPeer;
/** World sync requests the node made of the peer (every one refused: the world is not handed over). */
const syncRequests = () => peer.syncsAsked;

beforeAll(async () => {
  peer = await startTestPeer('announcer');
  node = await startNode({ trust: peer.peerId, replicate: 'all' });
  const self = dialableNode(node);
  await peer.answerSyncs(() => [{ t: 'refused', reason: 'unknown_world' }]);
  await peer.dial([self]);
  await peer.subscribe(DIRECTORY_TOPIC, [self]);
}, 60_000);

afterAll(async () => {
  await peer?.stop();
  await node?.cleanup();
});

describe('replicate all, against a peer that announces what it does not hand over', () => {
  it('asks once for each such world, not on every announcement', async () => {
    const worlds = Array.from({ length: 20 }, (_, i) => ({
      id: crypto.randomUUID(),
      name: `phantom ${i}`,
      ownerId: '',
      online: 0,
    }));
    const received = () => node.node.federation.traffic().directory?.received ?? 0;
    for (let round = 0; round < 5; round++) {
      const before = received();
      await peer.publish(
        DIRECTORY_TOPIC,
        encodeAnnouncement({ name: 'phantoms', url: '', version: '0', worlds, at: Date.now() }),
      );
      await waitFor(() => received() > before, 10_000, 'the node to judge the announcement');
      // Time for every mirror attempt it starts to be refused and end.
      await waitFor(() => syncRequests().length >= worlds.length, 10_000, 'the first attempts');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(syncRequests().length).toBe(worlds.length);
    expect(new Set(syncRequests()).size).toBe(worlds.length);
    for (const w of worlds) expect(node.node.store.peek(w.id)).toBeUndefined();
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  }, 60_000);
});

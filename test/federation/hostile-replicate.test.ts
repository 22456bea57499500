/**
 * A trusted peer that announces worlds it cannot (or will not) hand over, to a node that mirrors every
 * world its trusted peers announce (`--replicate all`): the node asks for such a world once, not on
 * every announcement. The peer is the test's own libp2p host (test-peer.ts) on loopback.
 */
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DIRECTORY_TOPIC,
  decodeSyncRequest,
  encodeAnnouncement,
  encodeSyncFrame,
  WORLD_SYNC_PROTOCOL,
} from '../../protocol/gossip/index.ts';
import { waitFor } from '../support/federation.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { startTestPeer, type TestPeer } from '../support/test-peer.ts';

let node: TestNode;
let peer: TestPeer;
const syncRequests: string[] = [];

beforeAll(async () => {
  peer = await startTestPeer('announcer');
  node = await startNode({ trust: peer.peerId, replicate: 'all' });
  const federation = node.node.federation;
  const self = {
    peerId: federation.peerId,
    address: federation.listenAddresses().find((a) => !a.includes('/ws')) as string,
  };
  await peer.host.handle(WORLD_SYNC_PROTOCOL, (stream: Stream) => refuseSync(stream));
  await peer.dial([self]);
  await peer.subscribe(DIRECTORY_TOPIC, [self]);
}, 60_000);

afterAll(async () => {
  await peer?.stop();
  await node?.cleanup();
});

async function refuseSync(stream: Stream): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: 16 * 1024 * 1024 });
  try {
    syncRequests.push(decodeSyncRequest((await lp.read()).subarray(), 16 * 1024 * 1024).worldId);
    await lp.write(encodeSyncFrame({ t: 'refused', reason: 'unknown_world' }));
    await stream.close();
  } catch (error) {
    stream.abort(error as Error);
  }
}

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
      await waitFor(() => syncRequests.length >= worlds.length, 10_000, 'the first attempts');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(syncRequests.length).toBe(worlds.length);
    expect(new Set(syncRequests).size).toBe(worlds.length);
    for (const w of worlds) expect(node.node.store.peek(w.id)).toBeUndefined();
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  }, 60_000);
});

import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CORE_PLUGIN_ID } from '../../node/world/render.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { encode } from '../../protocol/posbus/index.ts';
import {
  connectGuest,
  eventually,
  guest,
  handshakeFrame,
  startNode,
  type TestClient,
  type TestNode,
} from '../support/node.ts';

describe('slow consumers', () => {
  let node: TestNode;
  let fast: TestClient | undefined;

  beforeEach(async () => {
    node = await startNode({ tickMs: 20, maxQueuedBytes: 256 * 1024, positionBacklogBytes: 4096 });
  });
  afterEach(async () => {
    await fast?.client.close();
    await node.cleanup();
  });

  it('drops position frames for a client that does not read, closes it past the queue bound, and never stalls the others', async () => {
    // A client that stops reading its socket right after entering the world.
    const user = await guest(node);
    const slow = new WebSocket(node.wsUrl);
    await new Promise((resolve) => slow.once('open', resolve));
    slow.send(handshakeFrame(user, '018f0000-0000-7000-8000-00000000a1a1'));
    slow.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
    await eventually(() => node.node.worlds.roomOf(user.id) !== undefined, 5000, 'slow client in the world');
    (slow as unknown as { _socket: Socket })._socket.pause();

    fast = await connectGuest(node);
    await fast.client.teleport(DEFAULT_WORLD_ID);

    // Reliable traffic: large changes of an attribute relayed to the world (posbus_auto), each of which
    // every member must get.
    const { store } = node.node;
    const big = 'x'.repeat(60_000);
    let ticksSeen = 0;
    fast.client.on('UsersTransformList', () => ticksSeen++);
    for (let i = 0; i < 400 && node.node.worlds.roomOf(user.id); i++) {
      await store.apply(
        store.attributeOp(
          DEFAULT_WORLD_ID,
          DEFAULT_WORLD_ID,
          CORE_PLUGIN_ID,
          'shaders',
          {
            text: `${i}${big}`,
          },
          'system',
        ),
      );
      if (i % 20 === 0)
        fast.client.send({
          type: 'MyTransform',
          position: { x: i, y: 0, z: 0 },
          rotation: { x: 0, y: 0, z: 0 },
        });
    }
    // The slow client was dropped from the world; the fast one kept getting its ticks.
    await eventually(() => node.node.worlds.roomOf(user.id) === undefined, 10_000, 'slow client removed');
    expect(node.node.posbus.onlineUsers().has(user.id)).toBe(false);
    const before = ticksSeen;
    fast.client.send({ type: 'MyTransform', position: { x: 1, y: 2, z: 3 }, rotation: { x: 0, y: 0, z: 0 } });
    await eventually(() => ticksSeen > before, 5000, 'fast client still gets position frames');
    slow.terminate();
  }, 30_000);
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode } from '../../node/posbus/close-codes.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { decode, encode, type Message, SignalType } from '../../protocol/posbus/index.ts';
import {
  connectGuest,
  eventually,
  guest,
  joinWorld,
  sleep,
  startNode,
  type TestClient,
  type TestNode,
} from '../support/node.ts';

/** A raw socket, for what the SDK would never send. */
async function rawSocket(
  node: TestNode,
): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(node.wsUrl);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, closed };
}

const handshake = (
  token: string,
  userId: string,
  sessionId = '018f0000-0000-7000-8000-000000000001',
): Message => ({
  type: 'HandShake',
  handshakeVersion: 1,
  protocolVersion: 1,
  token,
  userId,
  sessionId,
});

describe('PosBus sessions', () => {
  let node: TestNode;
  const clients: TestClient[] = [];

  beforeEach(async () => {
    node = await startNode({ tickMs: 20, maxBadFrames: 3, messagesPerSecond: 50, messageBurst: 50 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node.cleanup();
  });

  const join = () => joinWorld(node, clients, DEFAULT_WORLD_ID);

  it('closes with 1008 on a bad token, a token of another user, or a text first frame', async () => {
    const alice = await guest(node);
    const bob = await guest(node);
    const cases: [string | Uint8Array, RegExp][] = [
      [encode(handshake(`${alice.token}x`, alice.id)), /invalid token/],
      [encode(handshake(alice.token, bob.id)), /does not belong/],
      ['hello', /binary HandShake/],
      [encode({ type: 'Signal', value: 5 }), /expected HandShake/],
    ];
    for (const [first, reason] of cases) {
      const { ws, closed } = await rawSocket(node);
      ws.send(first);
      const result = await closed;
      expect(result.code).toBe(CloseCode.Policy);
      expect(result.reason).toMatch(reason);
    }
    expect(node.node.posbus.sessionCount).toBe(0);
  });

  it('tells the older connection of a user about a dual connection and closes it', async () => {
    const user = await guest(node);
    const { ws, closed } = await rawSocket(node);
    const frames: Message[] = [];
    ws.on('message', (data: Buffer) => frames.push(decode(new Uint8Array(data))));
    ws.send(encode(handshake(user.token, user.id)));
    ws.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
    await eventually(() => frames.some((m) => m.type === 'SetWorld'), 5000, 'first connection in the world');

    const second = await connectGuest(node, { sessionId: '018f0000-0000-7000-8000-0000000000ff' }, user);
    clients.push(second);
    const result = await closed;
    expect(result.code).toBe(CloseCode.DualConnection);
    expect(frames.at(-1)).toEqual({ type: 'Signal', value: SignalType.DualConnection });
    await second.client.teleport(DEFAULT_WORLD_ID);
    expect(node.node.posbus.sessionCount).toBe(1);
    expect(node.node.worlds.roomOf(user.id)?.size).toBe(1);
  });

  it('survives malformed frames, keeps other sessions going, and closes a session that keeps sending them', async () => {
    const watcher = await join();
    const user = await guest(node);
    const { ws, closed } = await rawSocket(node);
    ws.send(encode(handshake(user.token, user.id)));
    await sleep(50);
    const garbage = [
      new Uint8Array([1, 2, 3]),
      new Uint8Array([0x4d, 0x96, 0xc1, 0xad, 0xff, 0xff, 0xff, 0xff, 0xff, 0xb2, 0x69, 0x3e, 0x52]),
      new Uint8Array(64).fill(0xee),
      new Uint8Array([0x59, 0x9f, 0xde, 0xa7, 1, 2, 0xa6, 0x60, 0x21, 0x58]),
    ];
    for (const frame of garbage) ws.send(frame);
    const result = await closed;
    expect(result.code).toBe(CloseCode.InvalidPayload);
    // The node and the other session are fine.
    watcher.client.send({
      type: 'MyTransform',
      position: { x: 4, y: 0, z: 0 },
      rotation: { x: 0, y: 0, z: 0 },
    });
    await eventually(
      () =>
        watcher.received.some(
          (m) => m.type === 'UsersTransformList' && m.value.some((u) => u.transform.position.x === 4),
        ),
      5000,
      'the watcher still gets positions',
    );
    const health = (await (await fetch(`${node.url}/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });

  it('survives an upgrade request whose target is not a parseable URL', async () => {
    const { connect } = await import('node:net');
    const { port } = new URL(node.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET http://[ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    await ended;
    const health = (await (await fetch(`${node.url}/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });

  it('closes with 1009 on a frame over the size limit', async () => {
    const c = await join();
    const closed = c.client.next('close', { timeoutMs: 5000 });
    c.client.send({
      type: 'HighFive',
      senderId: c.user.id,
      receiverId: c.user.id,
      message: 'x'.repeat(5000),
    });
    expect((await closed).code).toBe(CloseCode.TooBig);
  });

  it('closes a session that floods past its rate limit, without affecting others', async () => {
    const calm = await join();
    const flood = await join();
    const closed = flood.client.next('close', { timeoutMs: 5000 });
    for (let i = 0; i < 200; i++) {
      flood.client.send({
        type: 'MyTransform',
        position: { x: i % 100, y: 0, z: 0 },
        rotation: { x: 0, y: 0, z: 0 },
      });
    }
    expect((await closed).code).toBe(CloseCode.Policy);
    const next = calm.client.next('UsersTransformList', {
      filter: (m) => m.value.some((u) => u.id === calm.user.id),
    });
    calm.client.send({ type: 'MyTransform', position: { x: 1, y: 1, z: 1 }, rotation: { x: 0, y: 0, z: 0 } });
    await next;
  });
});

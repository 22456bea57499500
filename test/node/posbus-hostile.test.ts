/**
 * Hostile clients against the PosBus session's newer paths (resume, closing), on a real node with real
 * `ws` sockets on loopback: what a client does after the node closed it, resume tokens that are not
 * the node's, and input from a socket the node already let go of.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import {
  decodeSessionGrant,
  encode,
  encodeSessionRequest,
  type SessionGrant,
  type SessionRequest,
} from '../../protocol/posbus/index.ts';
import { createWorld, walletUser } from '../api/world-fixtures.ts';
import {
  connectGuest,
  eventually,
  type Guest,
  guest,
  handshakeFrame,
  sleep,
  startNode,
  type TestClient,
  type TestNode,
} from '../support/node.ts';

const SESSION_ID = '018f0000-0000-7000-8000-00000000e1e1';
const RESUME: SessionRequest = { features: 2, resumeToken: '', receivedFrames: 0, maxBytesPerSecond: 0 };

interface RawClient {
  ws: WebSocket;
  /** The SessionGrant, when the node answered with one (v2); undefined when it closed instead. */
  grant: SessionGrant | undefined;
  closed: Promise<number>;
  isClosed(): boolean;
  /** Stops reading the TCP socket: the node's frames (its close frame too) are never read. */
  stopReading(): void;
}

/** A raw client: a HandShake (v2 with `request`, else v1), then the grant or the close it gets. */
async function rawClient(
  node: TestNode,
  user: Guest,
  request: SessionRequest | undefined,
  sessionId = SESSION_ID,
): Promise<RawClient> {
  const ws = new WebSocket(node.wsUrl);
  let isClosed = false;
  const closed = new Promise<number>((resolve) =>
    ws.once('close', (code) => {
      isClosed = true;
      resolve(code);
    }),
  );
  ws.on('error', () => {});
  await new Promise((resolve) => ws.once('open', resolve));
  const first = new Promise<Uint8Array | undefined>((resolve) => {
    ws.once('message', (d) => resolve(new Uint8Array(d as Buffer)));
    void closed.then(() => resolve(undefined));
  });
  ws.send(handshakeFrame(user, sessionId, request ? 2 : 1));
  let grant: SessionGrant | undefined;
  if (request) {
    ws.send(encodeSessionRequest(request));
    const frame = await first;
    grant = frame && decodeSessionGrant(frame);
  } else {
    await eventually(() => (node.node.posbus.onlineUsers().has(user.id) ?? false) || isClosed);
  }
  return {
    ws,
    grant,
    closed,
    isClosed: () => isClosed,
    stopReading: () => (ws as unknown as { _socket: { pause(): void } })._socket.pause(),
  };
}

describe('PosBus hostile clients', () => {
  let node: TestNode | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await node?.cleanup();
    node = undefined;
  });
  const track = (c: RawClient) => {
    sockets.push(c.ws);
    return c;
  };

  it('a session the node closed (too many bad frames) cannot be resumed, and the resuming socket is not cut later', async () => {
    node = await startNode({ tickMs: 20, resumeGraceMs: 10_000, maxBadFrames: 2 });
    const user = await guest(node);
    const first = track(await rawClient(node, user, RESUME));
    expect(first.grant?.features).toBe(2);
    first.ws.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
    await eventually(() => node?.node.worlds.worldOf(user.id) === DEFAULT_WORLD_ID);
    // The client never answers the node's close: it stops reading, then earns the close.
    first.stopReading();
    for (let i = 0; i < 5; i++) first.ws.send('not a frame');
    await sleep(300);

    const second = track(
      await rawClient(node, user, { ...RESUME, resumeToken: first.grant?.resumeToken ?? '' }),
    );
    // Closed for a policy violation: the session ended; a resume starts afresh (docs/posbus.md).
    expect(second.grant?.outcome).toBe(0);
    // The node's deferred cut of the first socket (2 s) must not hit the second one.
    await sleep(2500);
    expect(second.isClosed()).toBe(false);
    expect(second.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a session closed for a missed pong (a silent link) may still be resumed while its old socket closes, and the old cut does not hit the new socket', async () => {
    node = await startNode({ tickMs: 20, resumeGraceMs: 10_000, pingIntervalMs: 100 });
    const user = await guest(node);
    const first = track(await rawClient(node, user, RESUME));
    first.ws.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
    await eventually(() => node?.node.worlds.worldOf(user.id) === DEFAULT_WORLD_ID);
    first.stopReading(); // pings go unanswered: the node closes with 4003 and cuts the socket 2 s later
    await sleep(400);
    const second = track(
      await rawClient(node, user, { ...RESUME, resumeToken: first.grant?.resumeToken ?? '' }),
    );
    expect(second.grant?.outcome).toBe(1);
    second.ws.on('ping', () => {}); // ws answers pings by itself while it reads
    await sleep(2500);
    expect(second.isClosed()).toBe(false);
    expect(node.node.worlds.worldOf(user.id)).toBe(DEFAULT_WORLD_ID);
  });

  it('a v2 handshake whose socket closes while the node waits for its SessionRequest is let go at once, not at the timeout', async () => {
    node = await startNode({ tickMs: 20, metrics: 'on', handshakeTimeoutMs: 60_000 });
    const traffic = node.node.metrics?.traffic;
    if (!traffic) throw new Error('metrics are on');
    const user = await guest(node);
    const ws = new WebSocket(node.wsUrl);
    sockets.push(ws);
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(handshakeFrame(user, SESSION_ID, 2));
    await sleep(300); // the token is verified; the node waits for the SessionRequest
    expect(traffic.rejected).toBe(0);
    ws.terminate();
    // The wait ends with the socket (its timer and the frames it held go with it).
    await eventually(() => traffic.rejected === 1, 3000, 'the handshake ended');
  });

  it('a resume token of the right length with non-ASCII characters gets a fresh session, not a refused handshake', async () => {
    node = await startNode({ tickMs: 20, resumeGraceMs: 10_000 });
    const user = await guest(node);
    const first = track(await rawClient(node, user, RESUME));
    const token = first.grant?.resumeToken ?? '';
    expect(token).toHaveLength(24);
    // Same length in UTF-16 code units as the node's token, one byte longer in UTF-8.
    const second = track(await rawClient(node, user, { ...RESUME, resumeToken: `é${token.slice(1)}` }));
    expect(second.isClosed()).toBe(false);
    expect(second.grant?.outcome).toBe(0);
  });

  it('frames from a socket the node is closing (too many bad frames) are not handled', async () => {
    node = await startNode({
      tickMs: 20,
      maxBadFrames: 2,
      messagesPerSecond: 100_000,
      messageBurst: 100_000,
    });
    const user = await guest(node);
    const client = track(await rawClient(node, user, undefined));
    client.ws.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
    await eventually(() => node?.node.worlds.worldOf(user.id) === DEFAULT_WORLD_ID);
    client.stopReading();
    for (let i = 0; i < 3; i++) client.ws.send('not a frame'); // the node closes the session (1007)
    await sleep(200);
    for (let i = 0; i < 100; i++) client.ws.send('still not a frame');
    client.ws.send(
      encode({ type: 'MyTransform', position: { x: 42, y: 0, z: 42 }, rotation: { x: 0, y: 0, z: 0 } }),
    );
    await sleep(500);
    expect(node.node.worlds.roomOf(user.id)?.transformOf(user.id)?.position.x ?? 0).not.toBe(42);
  });

  it('a replaced socket that ignores its close cannot move or teleport the session that replaced it', async () => {
    node = await startNode({ tickMs: 20 });
    const user = await guest(node);
    const old = track(await rawClient(node, user, undefined));
    old.stopReading(); // never reads the 4004 close
    const current = track(await rawClient(node, user, undefined));
    await sleep(100);
    current.ws.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
    await eventually(() => node?.node.worlds.worldOf(user.id) === DEFAULT_WORLD_ID);
    old.ws.send(
      encode({ type: 'MyTransform', position: { x: 42, y: 0, z: 42 }, rotation: { x: 0, y: 0, z: 0 } }),
    );
    old.ws.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
    await sleep(500);
    expect(node.node.worlds.worldOf(user.id)).toBe(DEFAULT_WORLD_ID);
    expect(node.node.worlds.roomOf(user.id)?.transformOf(user.id)?.position.x).not.toBe(42);
    expect(current.isClosed()).toBe(false);
  });
});

describe('PosBus hostile clients: queued work of a replaced session', () => {
  let node: TestNode | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await node?.cleanup();
    node = undefined;
  });

  it('teleports queued on a session that is then replaced do not pull the new session out of its world', async () => {
    // Teleports unpaced: the queue behind a teleport is what is tested, not --teleports-per-minute.
    node = await startNode({
      tickMs: 20,
      messagesPerSecond: 10_000,
      messageBurst: 10_000,
      teleportsPerMinute: 100_000,
    });
    const user = await guest(node);
    const old = await rawClient(node, user, undefined);
    sockets.push(old.ws);
    // A teleport storm: each waits for the one before (session.ts `pending`), so most are still queued…
    for (let i = 0; i < 400; i++) old.ws.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
    await sleep(20);
    // …when the same user connects again (same session id: the old one is closed with 4004).
    const current = await rawClient(node, user, undefined);
    sockets.push(current.ws);
    current.ws.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
    const entered = () => node?.node.worlds.worldOf(user.id) === DEFAULT_WORLD_ID;
    await eventually(entered, 10_000, 'the new session in the world');
    // What was queued behind the old socket drains; the new session must still be in the world.
    await sleep(1500);
    expect(entered()).toBe(true);
    expect(current.isClosed()).toBe(false);
  });
});

describe('PosBus hostile clients: budgeted position stream across teleports', () => {
  let node: TestNode | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node?.cleanup();
    node = undefined;
  });

  it('a budgeted client that teleports away gets no positions of the world it left (and the stream forgets them)', async () => {
    node = await startNode({ tickMs: 20, interestCellSize: 0, clientBudgetBytesPerSecond: 800 });
    const owner = await walletUser(node);
    const otherWorld = await createWorld(node, owner.token, 'Elsewhere');
    const observer = await connectGuest(node, {}, owner);
    clients.push(observer);
    await observer.client.teleport(DEFAULT_WORLD_ID);
    const movers: TestClient[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await connectGuest(node);
      clients.push(c);
      await c.client.teleport(DEFAULT_WORLD_ID);
      movers.push(c);
    }
    const moverIds = new Set(movers.map((m) => m.user.id));
    let left = false;
    const strays: string[] = [];
    observer.client.on('SetWorld', (m) => {
      if (m.id === otherWorld) left = true;
    });
    observer.client.on('UsersTransformList', (m) => {
      if (left) for (const u of m.value) if (moverIds.has(u.id)) strays.push(u.id);
    });
    // Far more movement than 800 bytes/s carries: most updates wait in the observer's stream.
    let step = 0;
    const move = setInterval(() => {
      step++;
      for (const [i, m] of movers.entries())
        m.client.send({
          type: 'MyTransform',
          position: { x: i * 10 + (step % 7), y: 0, z: step % 5 },
          rotation: { x: 0, y: step, z: 0 },
        });
    }, 20);
    try {
      await sleep(600);
      await observer.client.teleport(otherWorld);
      await eventually(() => left, 5000, 'the observer in the other world');
      // The observer moves in its new world: its room ticks, and its stream sends what fits the budget.
      for (let i = 0; i < 60; i++) {
        observer.client.send({
          type: 'MyTransform',
          position: { x: i, y: 0, z: 0 },
          rotation: { x: 0, y: 0, z: 0 },
        });
        await sleep(50);
      }
    } finally {
      clearInterval(move);
    }
    expect(strays).toEqual([]);
  });
});

import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import {
  ConnectionClosedError,
  type ConnectOptions,
  connect,
  HandlerError,
  NotConnectedError,
  PosbusClient,
  PosbusTimeoutError,
  UnexpectedFrameError,
  type WebSocketCtor,
  WorldNotFoundError,
} from '../../protocol/client/index.ts';
import { encode, type Message, PosbusDecodeError, SignalType } from '../../protocol/posbus/index.ts';
import { isUuidV7 } from '../../protocol/uuid.ts';
import { BAD_TOKEN, FakeServer } from './fake-server.ts';

const USER = '0190a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d';
const WORLD = '11111111-2222-4333-8444-555555555555';
const OTHER_WORLD = '99999999-8888-4777-8666-555555555555';
const FAST_RECONNECT = { initialDelayMs: 10, maxDelayMs: 40 };
/** Long enough for several reconnect attempts at FAST_RECONNECT, to show none happened. */
const QUIET_MS = 200;

const implementations: [string, WebSocketCtor | undefined][] = [['ws package', WsWebSocket]];
if (typeof globalThis.WebSocket === 'function') implementations.push(['global WebSocket', undefined]);

/** Runs `body` against a TCP server that accepts connections and never answers the HTTP upgrade. */
async function withSilentServer(body: (url: string) => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>();
  const tcp = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const { port } = tcp.address() as { port: number };
  try {
    await body(`ws://127.0.0.1:${port}/posbus`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }
}

describe.each(implementations)('PosbusClient over %s', (_name, WebSocket) => {
  let server: FakeServer;
  const clients: PosbusClient[] = [];

  beforeEach(async () => {
    server = await FakeServer.start();
    server.addWorld(WORLD, 'Test world');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.stop();
  });

  async function open(opts: Partial<ConnectOptions> = {}): Promise<PosbusClient> {
    const client = await connect(server.url, {
      token: 'good-token',
      userId: USER,
      WebSocket,
      reconnect: FAST_RECONNECT,
      ...opts,
    });
    clients.push(client);
    return client;
  }

  it('sends a HandShake with token, user id, versions 1/1 and a UUIDv7 session id', async () => {
    const client = await open();
    const conn = await server.handshaken(0);
    expect(conn.handshake).toEqual({
      type: 'HandShake',
      handshakeVersion: 1,
      protocolVersion: 1,
      token: 'good-token',
      userId: USER,
      sessionId: client.sessionId,
    });
    expect(isUuidV7(client.sessionId)).toBe(true);
    expect(client.userId).toBe(USER);
    expect(client.state).toBe('open');
  });

  it('uses a given session id and versions', async () => {
    const sessionId = '01900000-0000-7000-8000-000000000001';
    await open({ sessionId, handshakeVersion: 2, protocolVersion: 3 });
    const { handshake } = await server.handshaken(0);
    expect(handshake).toMatchObject({ sessionId, handshakeVersion: 2, protocolVersion: 3 });
  });

  it('teleport resolves with SetWorld and sets worldId', async () => {
    const client = await open();
    const world = await client.teleport(WORLD);
    expect(world).toEqual(server.worlds.get(WORLD));
    expect(client.worldId).toBe(WORLD);
    const conn = await server.handshaken(0);
    expect(conn.received).toEqual([{ type: 'TeleportRequest', target: WORLD }]);
  });

  it('teleport to an unknown world rejects with WorldNotFoundError', async () => {
    const client = await open();
    const error = await client.teleport(OTHER_WORLD).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorldNotFoundError);
    expect((error as WorldNotFoundError).worldId).toBe(OTHER_WORLD);
    expect(client.worldId).toBeUndefined();
    // The client keeps working.
    await expect(client.teleport(WORLD)).resolves.toMatchObject({ id: WORLD });
  });

  it('pairs Signal{9} with the right request when teleports overlap', async () => {
    const client = await open();
    const [unknown, known] = await Promise.allSettled([client.teleport(OTHER_WORLD), client.teleport(WORLD)]);
    expect(unknown.status === 'rejected' && unknown.reason).toBeInstanceOf(WorldNotFoundError);
    expect(known.status === 'fulfilled' && known.value.id).toBe(WORLD);
  });

  it('teleport times out when the server does not answer', async () => {
    const client = await open();
    server.ignoreTeleports = true;
    const error = await client.teleport(WORLD, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PosbusTimeoutError);
  });

  it('emits typed events per message type and "message" for all; unsubscribe stops delivery', async () => {
    const client = await open();
    const conn = await server.handshaken(0);
    const names: string[] = [];
    const all: Message[] = [];
    const off = client.on('AddUsers', (m) => {
      names.push(...m.users.map((u) => u.name)); // typed: m is AddUsers
    });
    client.on('message', (m) => all.push(m));
    const user = {
      id: USER,
      name: 'alice',
      avatar: '',
      transform: { position: { x: 1, y: 2, z: 3 }, rotation: { x: 0, y: 0, z: 0 } },
      isGuest: false,
    };
    server.send(conn, { type: 'AddUsers', users: [user] });
    await client.next('AddUsers');
    off();
    server.send(conn, { type: 'AddUsers', users: [{ ...user, name: 'bob' }] });
    server.send(conn, { type: 'RemoveUsers', users: [USER] });
    const removed = await client.next('RemoveUsers');
    expect(removed.users).toEqual([USER]);
    expect(names).toEqual(['alice']);
    expect(all.map((m) => m.type)).toEqual(['AddUsers', 'AddUsers', 'RemoveUsers']);
  });

  it('next() honours filter and times out', async () => {
    const client = await open();
    const conn = await server.handshaken(0);
    const wanted = client.next('Notification', { filter: (n) => n.value === 'second', timeoutMs: 2000 });
    server.send(conn, { type: 'Notification', notifyType: 500, value: 'first' });
    server.send(conn, { type: 'Notification', notifyType: 500, value: 'second' });
    await expect(wanted).resolves.toMatchObject({ value: 'second' });

    const started = Date.now();
    await expect(client.next('FlyToMe', { timeoutMs: 50 })).rejects.toBeInstanceOf(PosbusTimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('next() can be aborted', async () => {
    const client = await open();
    const controller = new AbortController();
    const waiting = client.next('FlyToMe', { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortedError' });
  });

  it('a malformed inbound frame emits "error" and the client stays open', async () => {
    const client = await open();
    const conn = await server.handshaken(0);
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    const good = encode({ type: 'Signal', value: 0 });
    const corrupt = good.slice();
    corrupt[corrupt.length - 1] ^= 0xff; // trailer no longer the complement of the header
    server.sendRaw(conn, corrupt);
    server.sendRaw(conn, new Uint8Array([1, 2, 3]));
    server.sendRaw(conn, 'a text frame');
    server.send(conn, { type: 'Notification', notifyType: 500, value: 'still here' });
    await expect(client.next('Notification')).resolves.toMatchObject({ value: 'still here' });
    expect(errors).toHaveLength(3);
    expect(errors[0]).toBeInstanceOf(PosbusDecodeError);
    expect((errors[0] as PosbusDecodeError).reason).toBe('trailer-mismatch');
    expect((errors[1] as PosbusDecodeError).reason).toBe('frame-too-short');
    expect(errors[2]).toBeInstanceOf(UnexpectedFrameError);
    expect(client.state).toBe('open');
  });

  it('a throwing handler is reported as HandlerError and does not stop other handlers', async () => {
    const client = await open();
    const conn = await server.handshaken(0);
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    client.on('Signal', () => {
      throw new Error('boom');
    });
    server.send(conn, { type: 'Signal', value: SignalType.None });
    await client.next('Signal');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(HandlerError);
    expect((errors[0].cause as Error).message).toBe('boom');
  });

  it('reconnects after a server-side close: same session id, re-teleports to the last world', async () => {
    const client = await open();
    await client.teleport(WORLD);
    const first = await server.handshaken(0);
    const events: string[] = [];
    client.on('close', (e) => events.push(`close ${e.willReconnect}`));
    client.on('reconnect', (e) => events.push(`reconnect ${e.attempt}`));
    const reopened = client.next('open');
    const reentered = client.next('SetWorld');

    first.ws.close(1001, 'server restarting');

    await expect(reopened).resolves.toEqual({ reconnected: true });
    const second = await server.handshaken(1);
    expect(second.handshake).toEqual(first.handshake);
    expect(second.handshake?.sessionId).toBe(client.sessionId);
    await expect(reentered).resolves.toMatchObject({ id: WORLD });
    expect(second.received[0]).toEqual({ type: 'TeleportRequest', target: WORLD });
    expect(events).toEqual(['close true', 'reconnect 1']);
    expect(client.state).toBe('open');
    expect(client.worldId).toBe(WORLD);
  });

  it('reconnects after an abrupt connection loss too', async () => {
    const client = await open();
    (await server.handshaken(0)).ws.terminate();
    await client.next('open', { filter: (e) => e.reconnected });
    expect((await server.handshaken(1)).handshake?.sessionId).toBe(client.sessionId);
  });

  it('a pending teleport rejects when the connection drops', async () => {
    const client = await open();
    server.ignoreTeleports = true;
    const pending = client.teleport(WORLD).catch((e: unknown) => e);
    const conn = await server.waitFor(() => server.conns[0]?.received.length && server.conns[0]);
    conn.ws.close(1001);
    const error = await pending;
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ code: 1001, willReconnect: true });
  });

  it('does not reconnect after client.close()', async () => {
    const client = await open();
    const conn = await server.handshaken(0);
    await client.close();
    expect(client.state).toBe('closed');
    await expect(client.closed).resolves.toEqual({
      code: 1000,
      reason: 'client closed',
      willReconnect: false,
    });
    await server.waitFor(() => conn.closed);
    await sleep(QUIET_MS);
    expect(server.conns).toHaveLength(1);
    expect(client.send({ type: 'Signal', value: 0 })).toBe(false);
    await expect(client.teleport(WORLD)).rejects.toBeInstanceOf(NotConnectedError);
  });

  it('does not reconnect after Signal{1} dual_connection', async () => {
    const client = await open();
    await client.teleport(WORLD);
    const conn = await server.handshaken(0);
    const signal = client.next('Signal');
    server.send(conn, { type: 'Signal', value: SignalType.DualConnection });
    await expect(signal).resolves.toEqual({ type: 'Signal', value: SignalType.DualConnection });
    await expect(client.closed).resolves.toMatchObject({ reason: 'dual connection', willReconnect: false });
    await server.waitFor(() => conn.closed);
    await sleep(QUIET_MS);
    expect(server.conns).toHaveLength(1);
  });

  it.each([
    [1008, 'policy violation'],
    [4001, 'replaced by another connection'],
  ])('does not reconnect after close code %i', async (code, reason) => {
    const client = await open();
    (await server.handshaken(0)).ws.close(code, reason);
    await expect(client.closed).resolves.toEqual({ code, reason, willReconnect: false });
    await sleep(QUIET_MS);
    expect(server.conns).toHaveLength(1);
  });

  it('a bad token ends in close code 1008', async () => {
    const client = await open({ token: BAD_TOKEN });
    await expect(client.closed).resolves.toEqual({
      code: 1008,
      reason: 'invalid token',
      willReconnect: false,
    });
    await expect(client.next('SetWorld')).rejects.toBeInstanceOf(NotConnectedError);
  });

  it('rejects connect when nothing listens', async () => {
    const url = server.url;
    await server.stop();
    const error = await connect(url, { token: 't', userId: USER, WebSocket }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    server = await FakeServer.start(); // for afterEach
  });

  it('rejects connect after connectTimeoutMs when the upgrade never completes', async () => {
    await withSilentServer(async (url) => {
      const started = Date.now();
      const error = await connect(url, { token: 't', userId: USER, WebSocket, connectTimeoutMs: 50 }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PosbusTimeoutError);
      expect(Date.now() - started).toBeLessThan(1000);
    });
  });

  it('close() while connecting rejects start()', async () => {
    await withSilentServer(async (url) => {
      const client = new PosbusClient(url, { token: 't', userId: USER, WebSocket });
      const starting = client.start();
      expect(client.state).toBe('connecting');
      await client.close();
      await expect(starting).rejects.toMatchObject({ name: 'ConnectionClosedError', code: 1000 });
      await expect(client.closed).resolves.toMatchObject({ willReconnect: false });
    });
  });

  it('rejects connect for a malformed user id without opening a socket', async () => {
    await expect(connect(server.url, { token: 't', userId: 'not-a-umid', WebSocket })).rejects.toMatchObject({
      name: 'PosbusEncodeError',
    });
    await sleep(20);
    expect(server.conns).toHaveLength(0);
  });

  it('gives up after maxAttempts failed reconnects', async () => {
    const client = await open({ reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 2 } });
    await server.handshaken(0);
    const attempts: number[] = [];
    client.on('reconnect', (e) => attempts.push(e.attempt));
    await server.stop();
    const final = await client.closed;
    expect(final.willReconnect).toBe(false);
    expect(final.reason).toMatch(/gave up after 2 reconnect attempts/);
    expect(attempts).toEqual([1, 2]);
    server = await FakeServer.start();
  });

  it('reconnect: false closes for good on the first loss', async () => {
    const client = await open({ reconnect: false });
    (await server.handshaken(0)).ws.close(1001);
    await expect(client.closed).resolves.toMatchObject({ code: 1001, willReconnect: false });
  });

  it('leaveWorld() sends Signal{5} and a reconnect re-enters no world', async () => {
    const client = await open();
    await client.teleport(WORLD);
    expect(client.leaveWorld()).toBe(true);
    const first = await server.waitFor(() => server.conns[0]?.received.length === 2 && server.conns[0]);
    expect(first.received[1]).toEqual({ type: 'Signal', value: SignalType.LeaveWorld });
    expect(client.worldId).toBeUndefined();
    first.ws.close(1001);
    await client.next('open', { filter: (e) => e.reconnected });
    const second = await server.handshaken(1);
    await sleep(50);
    expect(second.received).toEqual([]);
  });

  it('messages() yields inbound messages and ends when the client closes', async () => {
    const client = await open();
    const conn = await server.handshaken(0);
    const iterator = client.messages();
    server.send(conn, { type: 'Signal', value: 0 });
    server.send(conn, { type: 'RemoveObjects', objects: [WORLD] });
    const seen: string[] = [];
    for await (const m of iterator) {
      seen.push(m.type);
      if (seen.length === 2) void client.close();
    }
    expect(seen).toEqual(['Signal', 'RemoveObjects']);
  });
});

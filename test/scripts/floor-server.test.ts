/**
 * The floor server (scripts/floor-server.ts) outlives hostile clients: garbage instead of HTTP, a request
 * reset mid-body, a WebSocket upgrade cut half-way and a socket reset after it. Each would have been an
 * unheard 'error' or a dangling socket; afterwards the server still hands out guest ids and serves a
 * WebSocket. The real script in its own process, on a free loopback port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decode, encode } from '../../protocol/posbus/index.ts';

let floor: ChildProcess;
let port = 0;

/** The real script in its own process on a free loopback port; resolves with its port. */
async function startFloor(args: string[]): Promise<{ process: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['scripts/floor-server.ts', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('floor server did not start')), 30_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const entry = JSON.parse(line) as { url?: string };
      if (entry.url) {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
  });
  return { process: child, port: Number(new URL(url).port) };
}

beforeAll(async () => {
  ({ process: floor, port } = await startFloor([]));
}, 40_000);

afterAll(() => {
  floor?.kill('SIGKILL');
});

/** Writes `bytes` on a raw connection, then resets it (or ends it), and waits for the close. */
async function hostile(bytes: string, reset: boolean): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const closed = new Promise((r) => socket.once('close', r));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(bytes);
  await new Promise((r) => setTimeout(r, 50));
  if (reset) socket.resetAndDestroy();
  else socket.end();
  await closed;
}

describe('floor server under hostile clients', () => {
  it('keeps serving after garbage, resets mid-request and cut upgrades', async () => {
    await hostile('\x00\x01garbage that is not HTTP\r\n\r\n', false);
    await hostile(
      'POST /api/v4/auth/guest-token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a"',
      true,
    );
    await hostile(
      'GET /posbus HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n',
      true,
    );
    // A WebSocket that is reset after the upgrade, with a frame half sent.
    const cut = new WebSocket(`ws://127.0.0.1:${port}/posbus`);
    cut.on('error', () => {});
    await new Promise((resolve) => cut.once('open', resolve));
    cut.send(encode({ type: 'TeleportRequest', target: '5e1f0d2c-7a41-4c39-9b1e-0d0000000001' }));
    (cut as unknown as { _socket: import('node:net').Socket })._socket.resetAndDestroy();

    expect(floor.exitCode).toBeNull();
    const res = await fetch(`http://127.0.0.1:${port}/api/v4/auth/guest-token`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect((await res.json()) as { id: string }).toHaveProperty('id');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/posbus`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const setWorld = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
    ws.send(encode({ type: 'TeleportRequest', target: '5e1f0d2c-7a41-4c39-9b1e-0d0000000001' }));
    expect((await setWorld).length).toBeGreaterThan(8);
    ws.close();
    expect(floor.exitCode).toBeNull();
  }, 30_000);

  it('with --cell-size, sends each client the movers of its cell and the eight around it only', async () => {
    const cells = await startFloor(['--cell-size', '100', '--tick-ms', '50']);
    try {
      const world = '5e1f0d2c-7a41-4c39-9b1e-0d0000000001';
      // a and b share a cell; c is in the next cell (a neighbour); far is ten cells away.
      const places = { a: [10, 10], b: [20, 30], c: [150, 50], far: [1010, 1010] } as const;
      const seen = new Map<string, Set<string>>();
      const ids = new Map<string, string>();
      const sockets: WebSocket[] = [];
      for (const [name, [x, z]] of Object.entries(places)) {
        const id = randomUUID();
        ids.set(id, name);
        seen.set(name, new Set());
        const ws = new WebSocket(`ws://127.0.0.1:${cells.port}/posbus`);
        sockets.push(ws);
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        ws.on('message', (data) => {
          const message = decode(data as Buffer);
          if (message.type !== 'UsersTransformList') return;
          for (const entry of message.value) seen.get(name)?.add(ids.get(entry.id) ?? entry.id);
        });
        ws.send(
          encode({
            type: 'HandShake',
            handshakeVersion: 1,
            protocolVersion: 1,
            token: 'x',
            userId: id,
            sessionId: randomUUID(),
          }),
        );
        ws.send(encode({ type: 'TeleportRequest', target: world }));
        const pose = { position: { x, y: 0, z }, rotation: { x: 0, y: 0, z: 0 } };
        ws.send(encode({ type: 'MyTransform', ...pose }));
      }
      // Everyone moves again (in place) for a few ticks, so that each sees every mover near it.
      for (let round = 0; round < 5; round++) {
        for (const [i, [x, z]] of Object.values(places).entries())
          sockets[i].send(
            encode({ type: 'MyTransform', position: { x, y: round, z }, rotation: { x: 0, y: 0, z: 0 } }),
          );
        await new Promise((r) => setTimeout(r, 60));
      }
      const deadline = Date.now() + 10_000;
      while (!['a', 'b', 'c'].every((n) => seen.get(n)?.size === 3) || seen.get('far')?.size !== 1) {
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect([...(seen.get('a') ?? [])].sort()).toEqual(['a', 'b', 'c']);
      expect([...(seen.get('b') ?? [])].sort()).toEqual(['a', 'b', 'c']);
      expect([...(seen.get('c') ?? [])].sort()).toEqual(['a', 'b', 'c']);
      expect([...(seen.get('far') ?? [])]).toEqual(['far']);
      for (const ws of sockets) ws.close();
    } finally {
      cells.process.kill('SIGKILL');
    }
  }, 60_000);
});

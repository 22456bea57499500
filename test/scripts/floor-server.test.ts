/**
 * The floor server (scripts/floor-server.ts) outlives hostile clients: garbage instead of HTTP, a request
 * reset mid-body, a WebSocket upgrade cut half-way and a socket reset after it. Each would have been an
 * unheard 'error' or a dangling socket; afterwards the server still hands out guest ids and serves a
 * WebSocket. The real script in its own process, on a free loopback port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encode } from '../../protocol/posbus/index.ts';

let floor: ChildProcess;
let port = 0;

beforeAll(async () => {
  floor = spawn(process.execPath, ['scripts/floor-server.ts', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('floor server did not start')), 30_000);
    createInterface({ input: floor.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const entry = JSON.parse(line) as { url?: string };
      if (entry.url) {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
  });
  port = Number(new URL(url).port);
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
});

/**
 * The load generator's lean WebSocket client (scripts/bench-ws-client.ts) against a real `ws` server on
 * loopback: if it misread a frame, the benchmark would count what the node never sent. Messages of every
 * length class both ways, many in one read and one split over many, fragments, ping/pong, the close
 * handshake, a refused upgrade and a server that breaks the protocol.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { BenchWsClient } from '../../scripts/bench-ws-client.ts';

let http: Server | undefined;
let wss: WebSocketServer | undefined;

afterEach(async () => {
  wss?.close();
  for (const client of wss?.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  http = undefined;
  wss = undefined;
});

/** A ws server on a free loopback port; `onConnection` gets each server-side socket. */
async function serve(onConnection: (ws: WebSocket) => void): Promise<string> {
  http = createServer((_req, res) => res.writeHead(404).end('no such thing'));
  wss = new WebSocketServer({ server: http, path: '/posbus', perMessageDeflate: false });
  wss.on('connection', onConnection);
  await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}/posbus`;
}

interface Recorded {
  client: BenchWsClient;
  messages: Buffer[];
  opened: Promise<void>;
  closed: Promise<number>;
  failed: Promise<Error>;
}

function open(url: string): Recorded {
  const messages: Buffer[] = [];
  let onOpen = () => {};
  let onClose = (_code: number) => {};
  let onError = (_error: Error) => {};
  const opened = new Promise<void>((r) => (onOpen = r));
  const closed = new Promise<number>((r) => (onClose = r));
  const failed = new Promise<Error>((r) => (onError = r));
  const client = new BenchWsClient(url, {
    open: () => onOpen(),
    // The data is a view valid only during the call: copied, as a user of the client must.
    message: (data) => messages.push(Buffer.from(data)),
    close: (code) => onClose(code),
    error: (error) => onError(error),
  });
  return { client, messages, opened, closed, failed };
}

const until = async (check: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const pattern = (length: number, seed: number) =>
  Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));
const LENGTHS = [0, 1, 125, 126, 127, 65_535, 65_536, 1_000_000];

describe('lean benchmark WebSocket client', () => {
  it('sends and receives binary messages of every length class, byte for byte', async () => {
    const received: Buffer[] = [];
    let server: WebSocket | undefined;
    const url = await serve((ws) => {
      server = ws;
      ws.on('message', (data) => received.push(data as Buffer));
    });
    const c = open(url);
    await c.opened;
    for (const [i, length] of LENGTHS.entries()) c.client.send(pattern(length, i));
    await until(() => received.length === LENGTHS.length);
    expect(received.map((b) => b.length)).toEqual(LENGTHS);
    for (const [i, b] of received.entries()) expect(b.equals(pattern(LENGTHS[i], i))).toBe(true);

    // Back: many small messages land in one read, large ones over many reads.
    for (const [i, length] of LENGTHS.entries()) server?.send(pattern(length, 100 + i));
    for (let i = 0; i < 200; i++) server?.send(pattern(40, i));
    await until(() => c.messages.length === LENGTHS.length + 200);
    for (const [i, length] of LENGTHS.entries())
      expect(c.messages[i].equals(pattern(length, 100 + i))).toBe(true);
    for (let i = 0; i < 200; i++) expect(c.messages[LENGTHS.length + i].equals(pattern(40, i))).toBe(true);
    c.client.terminate();
  });

  it('puts fragmented messages together, answers pings, and takes part in the close handshake', async () => {
    let server: WebSocket | undefined;
    const pongs: Buffer[] = [];
    const url = await serve((ws) => {
      server = ws;
      ws.on('pong', (data) => pongs.push(data));
    });
    const c = open(url);
    await c.opened;
    server?.send(pattern(300, 1), { fin: false });
    server?.send(pattern(70_000, 2), { fin: false });
    server?.send(pattern(5, 3), { fin: true });
    server?.ping(Buffer.from('are you there'));
    await until(() => c.messages.length === 1 && pongs.length === 1);
    expect(c.messages[0].equals(Buffer.concat([pattern(300, 1), pattern(70_000, 2), pattern(5, 3)]))).toBe(
      true,
    );
    expect(pongs[0].toString()).toBe('are you there');

    const serverClosed = new Promise<number>((r) => server?.on('close', (code) => r(code)));
    server?.close(4003, 'bye');
    expect(await c.closed).toBe(4003);
    // The server saw our close frame echo its code: a clean close, not 1006.
    expect(await serverClosed).toBe(4003);
    expect(c.client.isOpen).toBe(false);
    c.client.send(pattern(10, 0)); // after the close: dropped, no throw
  });

  it('reports a refused upgrade as an error, not as an open connection', async () => {
    const url = await serve(() => {});
    const c = open(url.replace('/posbus', '/elsewhere'));
    const error = await c.failed;
    expect(error.message).toMatch(/upgrade refused: HTTP\/1\.1 4\d\d/);
    expect(c.client.isOpen).toBe(false);
  });

  it('closes with 1002 when the server masks its frames (a protocol error), and counts nothing from it', async () => {
    const url = await serve((ws) => {
      // A server must not mask; reach under ws to write one masked frame by hand.
      const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
      socket.write(Buffer.from([0x82, 0x81, 1, 2, 3, 4, 0x55]));
    });
    const c = open(url);
    await c.opened;
    expect(await c.closed).toBe(1002);
    expect(c.messages).toEqual([]);
  });
});

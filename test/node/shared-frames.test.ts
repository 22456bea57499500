/**
 * A position frame built once (`sharedFrame`) and written straight to each socket (`directSocket`) arrives
 * at a real `ws` client as the same message `ws.send` would have sent, at every length class of the
 * WebSocket header (7-bit, 16-bit and 64-bit lengths), in order with what went through `ws.send`; and is
 * not offered while ws's sender is busy with a message of its own.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { directSocket, sharedFrame } from '../../node/posbus/shared-frames.ts';

let server: WebSocketServer | undefined;

afterEach(async () => {
  for (const client of server?.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function connectedPair(compress = false): Promise<{ serverSide: WebSocket; client: WebSocket }> {
  server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: compress ? { threshold: 0 } : false,
  });
  await new Promise<void>((resolve) => server?.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const accepted = new Promise<WebSocket>((resolve) => server?.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  client.on('error', () => {});
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  return { serverSide: await accepted, client };
}

function received(client: WebSocket, count: number): Promise<Buffer[]> {
  const messages: Buffer[] = [];
  return new Promise((resolve, reject) => {
    client.on('message', (data, isBinary) => {
      if (!isBinary) reject(new Error('text message'));
      messages.push(data as Buffer);
      if (messages.length === count) resolve(messages);
    });
  });
}

describe('shared frames', () => {
  it('reach a ws client as the messages ws.send sends, interleaved in order, at every header size', async () => {
    const { serverSide, client } = await connectedPair();
    const sizes = [1, 125, 126, 1000, 65_535, 65_536, 200_000];
    const payloads = sizes.map((n) => new Uint8Array(randomBytes(n)));
    const expected: Buffer[] = [];
    const arriving = received(client, payloads.length * 2);
    for (const payload of payloads) {
      const socket = directSocket(serverSide);
      expect(socket).toBeDefined();
      socket?.write(sharedFrame(payload));
      const sent = randomBytes(7);
      serverSide.send(sent);
      expected.push(Buffer.from(payload), sent);
    }
    const messages = await arriving;
    expect(messages.map((m) => m.length)).toEqual(expected.map((m) => m.length));
    expect(messages).toEqual(expected);
  });

  it('is not offered while ws is still compressing a message: the frame would overtake it', async () => {
    // PosBus never negotiates compression; ws with it on shows the guard holds where ws's sender is busy.
    const { serverSide, client } = await connectedPair(true);
    expect(directSocket(serverSide)).toBeDefined();
    const arriving = received(client, 2);
    serverSide.send(randomBytes(100_000));
    expect(directSocket(serverSide)).toBeUndefined();
    serverSide.send(randomBytes(10));
    const messages = await arriving;
    expect(messages.map((m) => m.length)).toEqual([100_000, 10]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(directSocket(serverSide)).toBeDefined();
  });

  it('builds a payload frame once and hands the same bytes to every socket', () => {
    const payload = new Uint8Array(randomBytes(300));
    const frame = sharedFrame(payload);
    expect(sharedFrame(payload)).toBe(frame);
    expect([...frame.subarray(0, 4)]).toEqual([0x82, 126, 1, 44]);
    expect(frame.subarray(4)).toEqual(Buffer.from(payload));
    // Another payload of the same bytes is another frame: frames follow payload objects, not contents.
    expect(sharedFrame(new Uint8Array(payload))).not.toBe(frame);
  });
});

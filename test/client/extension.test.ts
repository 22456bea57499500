/**
 * The SDK's side of the PosBus extension against a scripted server (a real `ws` server on loopback, here
 * because the node never sends a malformed frame): it asks in the handshake, takes the grant, decodes
 * compact frames into UsersTransformList events, and survives hostile ones.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { connect, type PosbusClient, type WebSocketCtor } from '../../protocol/client/index.ts';
import {
  CompactEncoder,
  decode,
  decodeSessionRequest,
  EXT_TYPE_IDS,
  encodeSessionGrant,
  type Message,
  ResumeOutcome,
  typeIdOf,
} from '../../protocol/posbus/index.ts';

const USER = '0190a1b2-c3d4-7e5f-8a6b-000000000001';
const OTHER = '0190a1b2-c3d4-7e5f-8a6b-000000000002';

describe('SDK: PosBus extension', () => {
  let wss: WebSocketServer | undefined;
  let client: PosbusClient | undefined;
  afterEach(async () => {
    await client?.close();
    await new Promise((resolve) => wss?.close(resolve));
  });

  it('asks in the handshake, decodes compact frames as UsersTransformList events, and reports a hostile one without losing state', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss?.once('listening', resolve));
    const server = new Promise<WebSocket>((resolve) => wss?.once('connection', resolve));
    client = await connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, {
      token: 't',
      userId: USER,
      compact: true,
      maxBytesPerSecond: 5000,
      reconnect: false,
      WebSocket: WebSocket as unknown as WebSocketCtor,
    });
    const ws = await server;
    const frames: Uint8Array[] = [];
    ws.on('message', (d) => frames.push(new Uint8Array(d as Buffer)));
    await new Promise((r) => setTimeout(r, 100));
    // HandShake v2, then the SessionRequest.
    const hs = decode(frames[0]);
    expect(hs.type === 'HandShake' && hs.handshakeVersion).toBe(2);
    expect(typeIdOf(frames[1])).toBe(EXT_TYPE_IDS.SessionRequest);
    expect(decodeSessionRequest(frames[1])).toEqual({
      features: 1,
      resumeToken: '',
      receivedFrames: 0,
      maxBytesPerSecond: 5000,
    });

    const errors: Error[] = [];
    const positions: Message[] = [];
    client.on('error', (e) => errors.push(e));
    client.on('UsersTransformList', (m) => positions.push(m));
    const granted = client.next('session');
    ws.send(
      encodeSessionGrant({
        features: 1,
        resumeToken: '',
        graceMs: 0,
        outcome: ResumeOutcome.Fresh,
        sentFrames: 0,
      }),
    );
    expect((await granted).features).toBe(1);

    const enc = new CompactEncoder();
    const pose = (x: number) => ({ position: { x, y: 0, z: 2 }, rotation: { x: 0, y: 90, z: 0 } });
    ws.send(enc.encode([{ id: OTHER, transform: pose(1.5) }]) as Uint8Array);
    // Hostile: an update of a short id nobody mapped, then a valid delta on top of the first frame.
    const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    const id = EXT_TYPE_IDS.CompactTransforms;
    ws.send(new Uint8Array([...le(id), 1, 1, 2, 7, 1, 2, ...le(~id >>> 0)]));
    ws.send(enc.encode([{ id: OTHER, transform: pose(2.25) }]) as Uint8Array);
    await new Promise((r) => setTimeout(r, 200));
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/bad-record/);
    expect(positions).toEqual([
      { type: 'UsersTransformList', value: [{ id: OTHER, transform: pose(1.5) }] },
      { type: 'UsersTransformList', value: [{ id: OTHER, transform: pose(2.25) }] },
    ]);
    expect(client.state).toBe('open');
  });
});

/**
 * GET /metrics of a real node (LevelDB, libp2p on loopback, HTTP) after real PosBus traffic from SDK
 * clients: the counters move, labels carry message types and route patterns, and access follows
 * --metrics / --metrics-token.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const TOKEN = 'metrics-token-0123456789';

/** `name{labels} value` lines → value of the series whose name and labels match exactly. */
function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

describe('metrics', () => {
  let t: TestNode;
  const clients: TestClient[] = [];
  const scrape = async (token = TOKEN) => {
    const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  beforeAll(async () => {
    t = await startNode({ metrics: 'on', metricsToken: TOKEN, tickMs: 20 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await t?.cleanup();
  });

  it('counts sessions, frames and bytes by type, ticks, HTTP requests and refused frames', async () => {
    const before = await scrape();
    expect(series(before, 'odyssey_posbus_sessions')).toBe(0);
    expect(series(before, 'odyssey_worlds')).toBeGreaterThanOrEqual(1);
    expect(series(before, 'odyssey_posbus_rejected_frames_total')).toBe(0);
    expect(
      series(before, 'odyssey_posbus_frames_total', { direction: 'in', type: 'MyTransform' }),
    ).toBeUndefined();

    const [a, b] = [await connectGuest(t), await connectGuest(t)];
    clients.push(a, b);
    await a.client.teleport(DEFAULT_WORLD_ID);
    await b.client.teleport(DEFAULT_WORLD_ID);
    for (let i = 1; i <= 3; i++) {
      a.client.send({ type: 'MyTransform', position: { x: i, y: 2, z: 3 }, rotation: { x: 0, y: 0, z: 0 } });
      await new Promise((r) => setTimeout(r, 40));
    }
    await eventually(() => b.received.some((m) => m.type === 'UsersTransformList'), 5000, "b sees a's moves");
    // A move out of the world's bounds: refused by the session.
    a.client.send({ type: 'MyTransform', position: { x: 1e9, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 } });

    let after = '';
    for (let i = 0; i < 50; i++) {
      after = await scrape();
      if ((series(after, 'odyssey_posbus_rejected_frames_total') ?? 0) >= 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(series(after, 'odyssey_posbus_sessions')).toBe(2);
    expect(series(after, 'odyssey_posbus_frames_total', { direction: 'in', type: 'MyTransform' })).toBe(4);
    expect(
      series(after, 'odyssey_posbus_bytes_total', { direction: 'in', type: 'MyTransform' }),
    ).toBeGreaterThan(4 * 8);
    expect(series(after, 'odyssey_posbus_frames_total', { direction: 'in', type: 'HandShake' })).toBe(2);
    expect(
      series(after, 'odyssey_posbus_frames_total', { direction: 'out', type: 'UsersTransformList' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      series(after, 'odyssey_posbus_bytes_total', { direction: 'out', type: 'SetWorld' }),
    ).toBeGreaterThan(0);
    expect(series(after, 'odyssey_posbus_rejected_frames_total')).toBe(1);
    expect(series(after, 'odyssey_posbus_dropped_frames_total')).toBe(0);
    expect(series(after, 'odyssey_world_tick_duration_seconds_count')).toBeGreaterThan(0);
    // Requests by route pattern and status: the guest tokens the clients took, and unmatched paths.
    await fetch(`${t.url}/no/such/path/123`);
    const http = await scrape();
    expect(
      series(http, 'odyssey_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/v4/auth/guest-token',
        status: '200',
      }),
    ).toBe(2);
    expect(
      series(http, 'odyssey_http_request_duration_seconds_count', {
        method: 'GET',
        route: 'unmatched',
        status: '404',
      }),
    ).toBe(1);
    expect(series(http, 'odyssey_asset_bytes')).toBeGreaterThan(0);
    expect(series(http, 'odyssey_federation_peers')).toBe(0);
    expect(series(http, 'odyssey_gossip_messages_total', { verdict: 'rejected' })).toBe(0);
    expect(http).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('needs the metrics token when one is set', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${TOKEN}`]) {
      const res = await fetch(`${t.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { reason: 'failed_to_verify_access_token' } });
    }
  });
});

describe('metrics off (the default)', () => {
  it('serves no /metrics', async () => {
    const t = await startNode();
    try {
      const res = await fetch(`${t.url}/metrics`);
      expect(res.status).toBe(404);
      expect(t.node.metrics).toBeUndefined();
    } finally {
      await t.cleanup();
    }
  });
});

describe('dropped frames', () => {
  it('counts the position frames a client that does not read never got', async () => {
    const t = await startNode({
      metrics: 'on',
      tickMs: 20,
      positionBacklogBytes: 4096,
      maxQueuedBytes: 512 * 1024 * 1024,
      messagesPerSecond: 10_000,
      messageBurst: 10_000,
    });
    const user = await guest(t);
    const slow = new WebSocket(t.wsUrl);
    let fast: TestClient | undefined;
    try {
      await new Promise((resolve) => slow.once('open', resolve));
      slow.send(handshakeFrame(user, '018f0000-0000-7000-8000-00000000b2b2'));
      slow.send(encode({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID }));
      await eventually(() => t.node.worlds.roomOf(user.id) !== undefined, 5000, 'slow client in the world');
      // It stops reading: big world changes fill its socket, then position frames for it are dropped.
      (slow as unknown as { _socket: Socket })._socket.pause();
      fast = await connectGuest(t);
      await fast.client.teleport(DEFAULT_WORLD_ID);
      const big = 'x'.repeat(60_000);
      const { store } = t.node;
      for (let i = 0; i < 500 && t.node.metrics?.traffic.dropped === 0; i++) {
        await store.apply(
          store.attributeOp(
            DEFAULT_WORLD_ID,
            DEFAULT_WORLD_ID,
            CORE_PLUGIN_ID,
            'shaders',
            { text: `${i}${big}` },
            'system',
          ),
        );
        fast.client.send({
          type: 'MyTransform',
          position: { x: i % 50, y: 0, z: 0 },
          rotation: { x: 0, y: 0, z: 0 },
        });
        await new Promise((r) => setTimeout(r, 25));
      }
      const text = await (await fetch(`${t.url}/metrics`)).text();
      expect(Number(/^odyssey_posbus_dropped_frames_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    } finally {
      slow.terminate();
      await fast?.client.close();
      await t.cleanup();
    }
  }, 60_000);
});

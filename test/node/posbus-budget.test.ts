/**
 * The per-client bandwidth budget against a real node: a real observer with a small budget, real movers
 * near and far. Bytes per second stay within the budget, the nearest user is updated more often than
 * the far ones, and the far ones still move.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { NodeConfig } from '../../node/config.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import type { ConnectOptions, WebSocketCtor } from '../../protocol/client/index.ts';
import {
  connectGuest,
  eventually,
  sleep,
  startNode,
  type TestClient,
  type TestNode,
} from '../support/node.ts';

const BURST_SECONDS = 0.25; // node/posbus/position-stream.ts

describe('bandwidth budget', () => {
  let node: TestNode | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node?.cleanup();
  });

  it.each([
    ['server budget, classic stream', { clientBudgetBytesPerSecond: 1500 }, {}, 1500],
    ['budget asked by the client, compact stream', {}, { compact: true, maxBytesPerSecond: 600 }, 600],
  ] as [string, Partial<NodeConfig>, Partial<ConnectOptions>, number][])(
    '%s: within budget, nearest first, far users still updated',
    async (_, config, opts, budget) => {
      node = await startNode({ tickMs: 50, interestCellSize: 0, ...config });
      const frames: { at: number; bytes: number }[] = [];
      class Tracked extends WebSocket {
        constructor(url: string) {
          super(url);
          this.on('message', (data) =>
            frames.push({ at: performance.now(), bytes: (data as ArrayBuffer).byteLength }),
          );
        }
      }
      const observer = await connectGuest(node, { ...opts, WebSocket: Tracked as unknown as WebSocketCtor });
      clients.push(observer);
      await observer.client.teleport(DEFAULT_WORLD_ID);
      observer.client.send({
        type: 'MyTransform',
        position: { x: 0, y: 0, z: 0 },
        rotation: { x: 0, y: 0, z: 0 },
      });
      const movers: { c: TestClient; x: number; z: number }[] = [];
      const spots = [
        [3, 4],
        [300, 0],
        [-300, 0],
        [0, 300],
        [0, -300],
        [250, 250],
        [-250, -250],
      ];
      for (const [x, z] of spots) {
        const c = await connectGuest(node);
        clients.push(c);
        await c.client.teleport(DEFAULT_WORLD_ID);
        movers.push({ c, x, z });
      }
      await eventually(() => (node as TestNode).node.worlds.roomOf(observer.user.id)?.size === 8);
      const updates = new Map<string, number>();
      let counting = false;
      observer.client.on('UsersTransformList', (m) => {
        if (!counting) return;
        for (const u of m.value) updates.set(u.id, (updates.get(u.id) ?? 0) + 1);
      });
      // Everyone moves at 20 Hz: far more than the budget carries.
      let step = 0;
      const move = setInterval(() => {
        step++;
        for (const m of movers) {
          const wobble = (step % 10) * 0.37;
          m.c.client.send({
            type: 'MyTransform',
            position: { x: m.x + wobble, y: 0, z: m.z - wobble },
            rotation: { x: 0, y: step * 0.1, z: 0 },
          });
        }
      }, 50);
      try {
        await sleep(1000); // settle: the entry burst is behind us
        counting = true;
        const start = performance.now();
        await sleep(3000);
        const end = performance.now();
        counting = false;
        const seconds = (end - start) / 1000;
        const bytes = frames.filter((f) => f.at >= start && f.at < end).reduce((s, f) => s + f.bytes, 0);
        // WebSocket headers (2 bytes per frame here) are counted by the budget but not in `bytes`.
        expect(bytes).toBeLessThanOrEqual(budget * seconds + budget * BURST_SECONDS + 256);
        // …and the budget is used, not starved: at least half of it.
        expect(bytes).toBeGreaterThan((budget * seconds) / 2);
        const near = updates.get(movers[0].c.user.id) ?? 0;
        const far = movers.slice(1).map((m) => updates.get(m.c.user.id) ?? 0);
        expect(near).toBeGreaterThan(20); // most of the 60 ticks
        for (const f of far) {
          expect(f).toBeGreaterThan(0);
          expect(near).toBeGreaterThan(2 * f);
        }
      } finally {
        clearInterval(move);
      }
    },
  );
});

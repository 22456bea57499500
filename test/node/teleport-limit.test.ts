/**
 * `--teleports-per-minute`: a teleport re-sends the world to its client and re-announces the user to
 * everyone in view, so a client teleporting in a loop is paced (burst 5), told so, answered "no such
 * world" for each refused request (one answer per request, as clients expect), never closed for it; the
 * people around it see only the teleports that ran. Real node, real PosBus clients on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { TeleportPacedError } from '../../protocol/client/index.ts';
import {
  connectGuest,
  eventually,
  sleep,
  startNode,
  type TestClient,
  type TestNode,
  trackedWebSocket,
} from '../support/node.ts';

let node: TestNode | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close()));
  await node?.cleanup();
  node = undefined;
});

const count = (client: TestClient, type: string) => client.received.filter((m) => m.type === type).length;

describe('teleport pacing', () => {
  it('runs a burst of 5, refuses the rest with a notice, lets the client teleport again later', async () => {
    node = await startNode({ teleportsPerMinute: 60 });
    const watcher = await connectGuest(node);
    const jumper = await connectGuest(node);
    clients.push(watcher, jumper);
    await watcher.client.teleport(DEFAULT_WORLD_ID);
    await jumper.client.teleport(DEFAULT_WORLD_ID); // 1 of the burst
    await eventually(() => count(watcher, 'AddUsers') >= 1, 5000, 'the watcher sees the jumper');
    const addsBefore = count(watcher, 'AddUsers');

    for (let i = 0; i < 12; i++) jumper.client.send({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID });
    await eventually(
      () =>
        jumper.received.some((m) => m.type === 'Notification' && /Too many teleports/.test(String(m.value))),
      5000,
      'the notice',
    );
    await sleep(300);
    // The first teleport and 4 more ran (maybe one refilled meanwhile at 1 a second); the rest were refused.
    const worlds = count(jumper, 'SetWorld');
    expect(worlds).toBeGreaterThanOrEqual(5);
    expect(worlds).toBeLessThanOrEqual(6);
    expect(count(watcher, 'AddUsers') - addsBefore).toBeLessThanOrEqual(5);
    expect(node.node.worlds.roomOf(jumper.user.id)?.worldId).toBe(DEFAULT_WORLD_ID);

    // Every refused request got its answer (the SDK's queue of teleports stays in step)...
    await eventually(() => count(jumper, 'Signal') >= 12 - (worlds - 1), 5000, 'an answer to each request');
    // ...the client is still connected (the refusals are under --max-bad-frames), and after a second it may
    // teleport again.
    await sleep(1100);
    await jumper.client.teleport(DEFAULT_WORLD_ID);
    expect(count(jumper, 'SetWorld')).toBe(worlds + 1);
  });

  it('keeps a client that teleports in a loop connected but paced: its watchers see only the teleports that ran', async () => {
    node = await startNode({ teleportsPerMinute: 60, maxBadFrames: 20 });
    const watcher = await connectGuest(node);
    const jumper = await connectGuest(node);
    clients.push(watcher, jumper);
    await watcher.client.teleport(DEFAULT_WORLD_ID);
    await jumper.client.teleport(DEFAULT_WORLD_ID);
    await eventually(() => count(watcher, 'AddUsers') >= 1, 5000, 'the watcher sees the jumper');
    const addsBefore = count(watcher, 'AddUsers');
    for (let i = 0; i < 60; i++) jumper.client.send({ type: 'TeleportRequest', target: DEFAULT_WORLD_ID });
    // One answer per request: the teleports that ran, and a refusal for each of the others.
    await eventually(() => count(jumper, 'SetWorld') + count(jumper, 'Signal') >= 61, 10_000, 'every answer');
    expect(count(jumper, 'SetWorld')).toBeLessThanOrEqual(7);
    expect(count(watcher, 'AddUsers') - addsBefore).toBeLessThanOrEqual(6);
    // Refusals are not bad frames: more than --max-bad-frames of them close nothing.
    expect(node.node.posbus.onlineUsers().has(jumper.user.id)).toBe(true);
    expect(node.node.worlds.roomOf(jumper.user.id)?.worldId).toBe(DEFAULT_WORLD_ID);
  });

  it('the SDK: a refused teleport rejects with TeleportPacedError, the client stays in its world and re-enters it after a drop', async () => {
    node = await startNode({ teleportsPerMinute: 60 });
    const tracked = trackedWebSocket();
    const jumper = await connectGuest(node, {
      WebSocket: tracked.ctor,
      reconnect: { initialDelayMs: 10, maxDelayMs: 40 },
    });
    clients.push(jumper);
    await jumper.client.teleport(DEFAULT_WORLD_ID); // 1 of the burst
    const answers = await Promise.allSettled(
      Array.from({ length: 8 }, () => jumper.client.teleport(DEFAULT_WORLD_ID)),
    );
    const refusals = answers.flatMap((a) => (a.status === 'rejected' ? [a.reason] : []));
    // 9 asked, a burst of 5 (one more may have refilled meanwhile at 1 a second).
    expect(refusals.length).toBeGreaterThanOrEqual(3);
    for (const error of refusals) {
      expect(error).toBeInstanceOf(TeleportPacedError);
      expect((error as TeleportPacedError).worldId).toBe(DEFAULT_WORLD_ID);
    }
    // "Not now" is not "no such world": the client still knows where it is...
    expect(jumper.client.worldId).toBe(DEFAULT_WORLD_ID);
    // ...and after a network cut it goes back there.
    const reentered = jumper.client.next('SetWorld', { timeoutMs: 10_000 });
    tracked.cut();
    await expect(reentered).resolves.toMatchObject({ id: DEFAULT_WORLD_ID });
    await eventually(
      () => node?.node.worlds.roomOf(jumper.user.id)?.worldId === DEFAULT_WORLD_ID,
      5000,
      'the jumper back in its world',
    );
  });
});

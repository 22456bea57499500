/**
 * odyssey-node's PosBus extension against a real node with real sockets: the compact position stream,
 * resume after a cut TCP connection (and the end of the grace period), and the per-client bandwidth budget.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import {
  decodeSessionGrant,
  EXT_TYPE_IDS,
  encodeSessionRequest,
  type Message,
  ResumeOutcome,
  TYPE_IDS,
  typeIdOf,
} from '../../protocol/posbus/index.ts';
import {
  connectGuest,
  eventually,
  guest,
  handshakeFrame,
  sleep,
  startNode,
  type TestClient,
  type TestNode,
  trackedWebSocket,
} from '../support/node.ts';

const pose = (x: number, z: number, yaw = 0) => ({
  position: { x, y: 0, z },
  rotation: { x: 0, y: yaw, z: 0 },
});
const removed = (c: TestClient, id: string) =>
  c.received.some((m) => m.type === 'RemoveUsers' && m.users.includes(id));
const addedCount = (c: TestClient, id: string) =>
  c.received.filter((m) => m.type === 'AddUsers' && m.users.some((u) => u.id === id)).length;

describe('PosBus extension', () => {
  let node: TestNode | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node?.cleanup();
    node = undefined;
  });
  const join = async (opts = {}) => {
    const c = await connectGuest(node as TestNode, opts);
    clients.push(c);
    await c.client.teleport(DEFAULT_WORLD_ID);
    return c;
  };

  it('compact stream: opted-in clients get CompactTransforms decoded to the same events; classic clients get classic frames', async () => {
    node = await startNode({ tickMs: 20 });
    const tracked = trackedWebSocket();
    const compact = await join({ compact: true, WebSocket: tracked.ctor });
    const classic = await join();
    const mover = await join();
    expect(compact.client.session?.features).toBe(1);
    expect(compact.client.session?.resumeToken).toBe('');

    const compactSeen: Message[] = [];
    const classicSeen: Message[] = [];
    compact.client.on('UsersTransformList', (m) => compactSeen.push(m));
    classic.client.on('UsersTransformList', (m) => classicSeen.push(m));
    const last = (seen: Message[]) => {
      for (let i = seen.length - 1; i >= 0; i--) {
        const m = seen[i];
        if (m.type !== 'UsersTransformList') continue;
        const e = m.value.find((u) => u.id === mover.user.id);
        if (e) return e.transform;
      }
      return undefined;
    };
    for (let i = 1; i <= 20; i++) {
      mover.client.send({ type: 'MyTransform', ...pose(10 + i * 0.1234567, -20 - i * 0.25, i * 0.05) });
      await sleep(25);
    }
    const final = pose(10 + 20 * 0.1234567, -25, 1);
    await eventually(() => last(compactSeen)?.position.z === -25, 5000, 'compact client sees the mover');
    await eventually(() => last(classicSeen)?.position.z === -25, 5000, 'classic client sees the mover');
    const c = last(compactSeen) as NonNullable<ReturnType<typeof last>>;
    // Quantised to 1/1000 of a unit, and the same as the classic stream within that.
    expect(c.position.x).toBeCloseTo(final.position.x, 3);
    expect(c.rotation.y).toBeCloseTo(1, 3);
    expect(Math.abs((last(classicSeen)?.position.x ?? 0) - c.position.x)).toBeLessThanOrEqual(0.0005);

    const types = new Set(tracked.frames.map((f) => typeIdOf(f)));
    expect(types.has(EXT_TYPE_IDS.CompactTransforms)).toBe(true);
    expect(types.has(TYPE_IDS.UsersTransformList)).toBe(false);
    // Bytes per user-update on this stream: every update of the mover after its mapping is small.
    const compactFrames = tracked.frames.filter((f) => typeIdOf(f) === EXT_TYPE_IDS.CompactTransforms);
    const small = compactFrames.filter((f) => f.length - 8 <= 18);
    expect(small.length).toBeGreaterThan(compactFrames.length / 2);
  });

  it('refuses an extended handshake without a proper SessionRequest, and keeps serving others', async () => {
    node = await startNode({ tickMs: 20 });
    const user = await guest(node);
    const ws = new WebSocket(node.wsUrl);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(handshakeFrame(user, '018f0000-0000-7000-8000-00000000b1b1', 2));
    // A SessionRequest with its trailer broken.
    const bad = encodeSessionRequest({
      features: 3,
      resumeToken: '',
      receivedFrames: 0,
      maxBytesPerSecond: 0,
    });
    bad[bad.length - 1] ^= 0xff;
    ws.send(bad);
    expect(await closed).toBe(1008);
    const other = await join({ compact: true, resume: true });
    expect(other.client.session?.features).toBe(3);
  });

  it('resume: a client whose TCP connection is cut comes back within the grace period; others see no RemoveUsers/AddUsers, it gets what it missed', async () => {
    node = await startNode({ tickMs: 20, resumeGraceMs: 10_000 });
    const tracked = trackedWebSocket();
    const resumer = await join({
      resume: true,
      compact: true,
      WebSocket: tracked.ctor,
      reconnect: { initialDelayMs: 300, maxDelayMs: 300 },
    });
    const watcher = await join();
    expect(resumer.client.session?.features).toBe(3);
    const firstToken = resumer.client.session?.resumeToken;
    expect(firstToken).toMatch(/^[\w-]{24}$/);
    resumer.client.send({ type: 'MyTransform', ...pose(7, 7) });
    await eventually(
      () => node?.node.worlds.roomOf(resumer.user.id)?.transformOf(resumer.user.id)?.position.x === 7,
    );

    const closed = resumer.client.next('close', { timeoutMs: 5000 });
    const granted = resumer.client.next('session', { timeoutMs: 10_000 });
    tracked.cut();
    expect((await closed).code).toBe(1006);
    // While it is away: someone enters the world (an AddUsers it must not miss).
    const newcomer = await join();
    const grant = await granted;
    expect(grant.outcome).toBe(ResumeOutcome.Replayed);
    expect(grant.resumeToken).not.toBe(firstToken);
    await eventually(() => addedCount(resumer, newcomer.user.id) === 1, 5000, 'missed AddUsers replayed');

    // Still there for everyone, without flicker, and moving again.
    resumer.client.send({ type: 'MyTransform', ...pose(9, 9) });
    const seenAt9 = () =>
      watcher.received.some(
        (m) =>
          m.type === 'UsersTransformList' &&
          m.value.some((u) => u.id === resumer.user.id && u.transform.position.x === 9),
      );
    await eventually(seenAt9, 5000, 'watcher sees the resumed client move');
    expect(removed(watcher, resumer.user.id)).toBe(false);
    expect(removed(newcomer, resumer.user.id)).toBe(false);
    expect(addedCount(watcher, resumer.user.id)).toBe(1);
    expect(addedCount(newcomer, resumer.user.id)).toBe(1);
    // No second entry stream on the resumed client either.
    expect(resumer.received.filter((m) => m.type === 'SetWorld')).toHaveLength(1);
    expect(node.node.worlds.worldOf(resumer.user.id)).toBe(DEFAULT_WORLD_ID);
  });

  it('resume: too much missed → a fresh snapshot of the world, still without flicker for others', async () => {
    node = await startNode({ tickMs: 20, resumeGraceMs: 10_000, resumeReplayBytes: 0 });
    const tracked = trackedWebSocket();
    const resumer = await join({
      resume: true,
      WebSocket: tracked.ctor,
      reconnect: { initialDelayMs: 200, maxDelayMs: 200 },
    });
    const watcher = await join();
    const granted = resumer.client.next('session', { timeoutMs: 10_000 });
    tracked.cut();
    const newcomer = await join();
    const snapshotWorld = resumer.client.next('SetWorld', { timeoutMs: 10_000 });
    expect((await granted).outcome).toBe(ResumeOutcome.Snapshot);
    expect((await snapshotWorld).id).toBe(DEFAULT_WORLD_ID);
    await eventually(() => addedCount(resumer, newcomer.user.id) >= 1, 5000, 'snapshot lists the newcomer');
    await sleep(200);
    expect(removed(watcher, resumer.user.id)).toBe(false);
    expect(addedCount(watcher, resumer.user.id)).toBe(1);
  });

  it('resume: after the grace period the dropped user is removed for everyone; a late resume starts afresh', async () => {
    node = await startNode({ tickMs: 20, resumeGraceMs: 1500 });
    const tracked = trackedWebSocket();
    const dropper = await join({ resume: true, WebSocket: tracked.ctor, reconnect: false });
    const watcher = await join();
    const token = dropper.client.session?.resumeToken as string;
    const cutAt = Date.now();
    tracked.cut();
    await sleep(500);
    expect(removed(watcher, dropper.user.id)).toBe(false);
    expect(node.node.worlds.worldOf(dropper.user.id)).toBe(DEFAULT_WORLD_ID);
    await eventually(() => removed(watcher, dropper.user.id), 5000, 'RemoveUsers after the grace period');
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(1450);
    expect(node.node.worlds.worldOf(dropper.user.id)).toBeUndefined();

    // The old token no longer resumes anything: the answer is a fresh session.
    const ws = new WebSocket(node.wsUrl);
    await new Promise((resolve) => ws.once('open', resolve));
    const first = new Promise<Uint8Array>((resolve) =>
      ws.once('message', (d) => resolve(new Uint8Array(d as Buffer))),
    );
    ws.send(handshakeFrame(dropper.user, dropper.client.sessionId, 2));
    ws.send(
      encodeSessionRequest({ features: 2, resumeToken: token, receivedFrames: 3, maxBytesPerSecond: 0 }),
    );
    const grant = decodeSessionGrant(await first);
    expect(grant.outcome).toBe(ResumeOutcome.Fresh);
    expect(grant.sentFrames).toBe(0);
    ws.close();
  });

  it('resume: a wrong token does not take over the session', async () => {
    node = await startNode({ tickMs: 20, resumeGraceMs: 10_000 });
    const tracked = trackedWebSocket();
    const victim = await join({ resume: true, WebSocket: tracked.ctor, reconnect: false });
    const watcher = await join();
    tracked.cut();
    await sleep(100);
    const ws = new WebSocket(node.wsUrl);
    await new Promise((resolve) => ws.once('open', resolve));
    const first = new Promise<Uint8Array>((resolve) =>
      ws.once('message', (d) => resolve(new Uint8Array(d as Buffer))),
    );
    ws.send(handshakeFrame(victim.user, victim.client.sessionId, 2));
    ws.send(
      encodeSessionRequest({
        features: 2,
        resumeToken: 'A'.repeat(24),
        receivedFrames: 0,
        maxBytesPerSecond: 0,
      }),
    );
    expect(decodeSessionGrant(await first).outcome).toBe(ResumeOutcome.Fresh);
    // A fresh session of the same session id replaces the dropped one, as a classic reconnect does.
    await eventually(() => removed(watcher, victim.user.id), 5000, 'the dropped session left');
    ws.close();
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { WorldNotFoundError } from '../../protocol/client/index.ts';
import type { MessageOf, UserTransform } from '../../protocol/posbus/index.ts';
import {
  connectGuest,
  eventually,
  joinWorld,
  sleep,
  startNode,
  type TestClient,
  type TestNode,
} from '../support/node.ts';

const pose = (x: number, y: number, z: number) => ({
  position: { x, y, z },
  rotation: { x: 0, y: 90, z: 0 },
});

/** The latest position each user id had in the UsersTransformList frames a client received. */
function positionsSeen(c: TestClient): Map<string, UserTransform['transform']> {
  const seen = new Map<string, UserTransform['transform']>();
  for (const m of c.received)
    if (m.type === 'UsersTransformList') for (const u of m.value) seen.set(u.id, u.transform);
  return seen;
}

/** The x of every position of `userId` a client received, in order. */
function xsSeen(c: TestClient, userId: string): number[] {
  return c.received
    .flatMap((m) => (m.type === 'UsersTransformList' ? m.value : []))
    .filter((u) => u.id === userId)
    .map((u) => u.transform.position.x);
}

/** The default world's bound set to `bound` (its root's option), as an operator would change it. */
async function setWorldBound(node: TestNode, bound: number): Promise<void> {
  const { store } = node.node;
  const root = store.get(DEFAULT_WORLD_ID)?.objects.get(DEFAULT_WORLD_ID);
  if (!root) throw new Error('seeded world has no root');
  await store.apply(
    store.objectOp(DEFAULT_WORLD_ID, DEFAULT_WORLD_ID, { options: { ...root.options, bound } }, 'system'),
  );
}

describe('one world full of users', () => {
  let node: TestNode;
  const clients: TestClient[] = [];

  beforeEach(async () => {
    node = await startNode({ tickMs: 20 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node.cleanup();
  });

  const join = () => joinWorld(node, clients, DEFAULT_WORLD_ID);

  it('streams the world on entry in the original order', async () => {
    const a = await join();
    await eventually(() => a.received.some((m) => m.type === 'AddUsers'), 5000, 'AddUsers');
    const types = a.received.map((m) => m.type);
    expect(types[0]).toBe('SetWorld');
    expect(types[1]).toBe('MyTransform');
    expect(types[2]).toBe('AddObjects');
    const objects = (a.received[2] as MessageOf<'AddObjects'>).objects;
    expect(objects[0].id).toBe(DEFAULT_WORLD_ID);
    expect(objects.length).toBeGreaterThanOrEqual(5);
    // Children come after their parent.
    const order = new Map(objects.map((o, i) => [o.id, i]));
    for (const o of objects.slice(1)) expect(order.get(o.parentId)).toBeLessThan(order.get(o.id) as number);
    // Render data: colours of the shapes and the skybox of the world.
    const data = a.received.filter((m) => m.type === 'ObjectData');
    expect(data.some((d) => d.id === DEFAULT_WORLD_ID && d.entries.texture?.skybox_custom)).toBe(true);
    expect(data.some((d) => typeof d.entries.string?.object_color === 'string')).toBe(true);
    // The spawn point of the seeded world.
    expect((a.received[1] as MessageOf<'MyTransform'>).position).toEqual({ x: 0, y: 2, z: 20 });
    const users = a.received.find((m) => m.type === 'AddUsers') as MessageOf<'AddUsers'>;
    expect(users.users.map((u) => u.id)).toContain(a.user.id);
  });

  it('lets two users see each other join, move and leave', async () => {
    const a = await join();
    const joined = a.client.next('AddUsers', { filter: (m) => m.users.some((u) => u.id !== a.user.id) });
    const b = await join();
    expect((await joined).users.map((u) => u.id)).toEqual([b.user.id]);
    await eventually(
      () => b.received.some((m) => m.type === 'AddUsers' && m.users.some((u) => u.id === a.user.id)),
      5000,
      'b sees a',
    );

    b.client.send({ type: 'MyTransform', ...pose(12, 0, -3) });
    await eventually(() => positionsSeen(a).get(b.user.id)?.position.x === 12, 5000, 'a sees b move');
    expect(positionsSeen(a).get(b.user.id)).toEqual(pose(12, 0, -3));

    const left = a.client.next('RemoveUsers');
    await b.client.close();
    expect((await left).users).toEqual([b.user.id]);
  });

  it('keeps twenty users in sync', async () => {
    const many = await Promise.all(Array.from({ length: 20 }, () => join()));
    for (const [i, c] of many.entries()) c.client.send({ type: 'MyTransform', ...pose(i, 1, i * 2) });
    for (const c of many) {
      await eventually(
        () => {
          const seen = positionsSeen(c);
          return many.every((other, i) => seen.get(other.user.id)?.position.x === i);
        },
        10_000,
        'everyone sees everyone',
      );
    }
  });

  it('refuses positions that are not finite or outside the world bounds', async () => {
    const a = await join();
    const b = await join();
    // Ticks apart, so that the room cannot fold a refused move into the next one.
    b.client.send({ type: 'MyTransform', ...pose(1e9, 0, 0) });
    await sleep(200);
    b.client.send({ type: 'MyTransform', ...pose(Number.NaN, 0, 0) });
    await sleep(200);
    b.client.send({ type: 'MyTransform', ...pose(7, 0, 0) });
    await eventually(() => positionsSeen(a).get(b.user.id)?.position.x === 7, 5000, 'valid move');
    const xs = xsSeen(a, b.user.id);
    expect(xs).not.toContain(1e9);
    expect(xs.some((x) => Number.isNaN(x))).toBe(false);
  });

  it('checks moves against the bound the world has now, changed while people are in it', async () => {
    const a = await join();
    const b = await join();
    await setWorldBound(node, 50);
    b.client.send({ type: 'MyTransform', ...pose(80, 0, 0) });
    // Ten ticks apart, so that the room cannot fold the refused move into the next one.
    await sleep(200);
    b.client.send({ type: 'MyTransform', ...pose(40, 0, 0) });
    await eventually(
      () => positionsSeen(a).get(b.user.id)?.position.x === 40,
      5000,
      'move inside the new bound',
    );
    const xs = xsSeen(a, b.user.id);
    expect(xs).not.toContain(80);

    await setWorldBound(node, 100);
    b.client.send({ type: 'MyTransform', ...pose(80, 0, 0) });
    await eventually(
      () => positionsSeen(a).get(b.user.id)?.position.x === 80,
      5000,
      'move inside the widened bound',
    );
  });

  it('answers an unknown world with Signal world_does_not_exist', async () => {
    const c = await connectGuest(node);
    clients.push(c);
    await expect(c.client.teleport('01234567-89ab-4cde-8f01-23456789abcd')).rejects.toBeInstanceOf(
      WorldNotFoundError,
    );
    expect(c.received.some((m) => m.type === 'SetWorld')).toBe(false);
  });

  it('delivers a high-five to its receiver with the real sender, and tells the sender when nobody is there', async () => {
    const a = await join();
    const b = await join();
    const got = b.client.next('HighFive');
    // The client claims to be someone else: the node writes the real sender.
    a.client.send({ type: 'HighFive', senderId: b.user.id, receiverId: b.user.id, message: 'hi!' });
    expect(await got).toMatchObject({ senderId: a.user.id, receiverId: b.user.id, message: 'hi!' });

    const notice = a.client.next('Notification');
    a.client.send({
      type: 'HighFive',
      senderId: a.user.id,
      receiverId: '01234567-89ab-4cde-8f01-23456789abcd',
      message: '',
    });
    expect(await notice).toMatchObject({ notifyType: 500, value: 'Target user not found' });
  });
});

describe('interest management', () => {
  let node: TestNode;
  const clients: TestClient[] = [];
  beforeEach(async () => {
    node = await startNode({ tickMs: 20, interestCellSize: 100 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node.cleanup();
  });

  it('sends a member the positions of users in the cells around it, not of users far away', async () => {
    const [a, near, far] = await Promise.all(
      [0, 1, 2].map(async () => {
        const c = await connectGuest(node);
        clients.push(c);
        await c.client.teleport(DEFAULT_WORLD_ID);
        return c;
      }),
    );
    a.client.send({ type: 'MyTransform', ...pose(10, 0, 10) });
    near.client.send({ type: 'MyTransform', ...pose(150, 0, 10) }); // the next cell
    far.client.send({ type: 'MyTransform', ...pose(2000, 0, 2000) });
    await eventually(() => positionsSeen(a).get(near.user.id)?.position.x === 150, 5000, 'a sees near');
    await eventually(() => positionsSeen(far).get(far.user.id)?.position.x === 2000, 5000, 'far sees itself');
    // Fresh moves after everyone has settled in their cells.
    a.received.length = 0;
    far.received.length = 0;
    near.client.send({ type: 'MyTransform', ...pose(160, 0, 10) });
    far.client.send({ type: 'MyTransform', ...pose(2010, 0, 2000) });
    await eventually(() => positionsSeen(a).get(near.user.id)?.position.x === 160, 5000, 'a sees near move');
    await eventually(
      () => positionsSeen(far).get(far.user.id)?.position.x === 2010,
      5000,
      'far sees its own move',
    );
    expect(positionsSeen(a).has(far.user.id)).toBe(false);
    expect(positionsSeen(far).has(near.user.id)).toBe(false);
    expect(positionsSeen(far).has(a.user.id)).toBe(false);
  });
});

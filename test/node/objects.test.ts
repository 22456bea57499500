import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CORE_PLUGIN_ID } from '../../node/world/render.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { NIL_UMID, type Transform } from '../../protocol/posbus/index.ts';
import { eventually, joinWorld, sleep, startNode, type TestClient, type TestNode } from '../support/node.ts';

const CUBE = '5e1f0d2c-7a41-4c39-9b1e-0d0000000101';
const v = (x: number, y: number, z: number) => ({ x, y, z });
const moved: Transform = { position: v(3, 4, 5), rotation: v(0, 45, 0), scale: v(1, 2, 1) };

describe('objects: locks, moves and changes', () => {
  let node: TestNode;
  const clients: TestClient[] = [];

  beforeEach(async () => {
    node = await startNode({ tickMs: 20 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node.cleanup();
  });

  const join = (worldId = DEFAULT_WORLD_ID) => joinWorld(node, clients, worldId);

  it('lock → transform → unlock reaches everyone and is persisted', async () => {
    const a = await join();
    const b = await join();
    const bSeesLock = b.client.next('LockObjectResponse');
    a.client.send({ type: 'LockObject', id: CUBE });
    expect(await bSeesLock).toEqual({
      type: 'LockObjectResponse',
      id: CUBE,
      result: 1,
      lockOwner: a.user.id,
    });

    // Someone else may neither take the lock nor move the object.
    const refused = b.client.next('LockObjectResponse');
    b.client.send({ type: 'LockObject', id: CUBE });
    expect(await refused).toMatchObject({ result: 0, lockOwner: a.user.id });
    b.client.send({ type: 'ObjectTransform', id: CUBE, transform: { ...moved, position: v(99, 99, 99) } });

    const aSeesMove = a.client.next('ObjectTransform');
    const bSeesMove = b.client.next('ObjectTransform');
    a.client.send({ type: 'ObjectTransform', id: CUBE, transform: moved });
    expect((await aSeesMove).transform).toEqual(moved);
    expect((await bSeesMove).transform).toEqual(moved);
    expect(node.node.store.get(DEFAULT_WORLD_ID)?.objects.get(CUBE)?.transform).toEqual(moved);

    const unlockRefused = b.client.next('LockObjectResponse');
    b.client.send({ type: 'UnlockObject', id: CUBE });
    expect(await unlockRefused).toMatchObject({ result: 0, lockOwner: a.user.id });

    const unlocked = b.client.next('LockObjectResponse');
    a.client.send({ type: 'UnlockObject', id: CUBE });
    expect(await unlocked).toEqual({ type: 'LockObjectResponse', id: CUBE, result: 1, lockOwner: NIL_UMID });

    // After the unlock the former holder's moves are ignored.
    a.client.send({ type: 'ObjectTransform', id: CUBE, transform: { ...moved, position: v(1, 1, 1) } });
    await sleep(100);
    expect(node.node.store.get(DEFAULT_WORLD_ID)?.objects.get(CUBE)?.transform).toEqual(moved);

    const restarted = await node.restart();
    node = restarted;
    expect(node.node.store.get(DEFAULT_WORLD_ID)?.objects.get(CUBE)?.transform).toEqual(moved);
  });

  it('releases the locks of a user who disconnects', async () => {
    const a = await join();
    const b = await join();
    const locked = b.client.next('LockObjectResponse');
    a.client.send({ type: 'LockObject', id: CUBE });
    await locked;
    const released = b.client.next('LockObjectResponse');
    await a.client.close();
    expect(await released).toEqual({ type: 'LockObjectResponse', id: CUBE, result: 0, lockOwner: NIL_UMID });
    const mine = b.client.next('LockObjectResponse');
    b.client.send({ type: 'LockObject', id: CUBE });
    expect(await mine).toMatchObject({ result: 1, lockOwner: b.user.id });
  });

  it('refuses the lock to a user who may not edit the object', async () => {
    const { store } = node.node;
    const worldId = '0a0b0c0d-0000-4000-8000-000000000001';
    const objectId = '0a0b0c0d-0000-4000-8000-000000000002';
    await store.apply(
      store.objectOp(worldId, worldId, { name: 'Private', ownerId: NIL_UMID, options: {} }, 'system'),
    );
    await store.apply(
      store.objectOp(worldId, objectId, { parentId: worldId, name: 'Statue', ownerId: NIL_UMID }, 'system'),
    );
    const a = await join(worldId);
    const refused = a.client.next('LockObjectResponse');
    a.client.send({ type: 'LockObject', id: objectId });
    expect(await refused).toMatchObject({ id: objectId, result: 0, lockOwner: NIL_UMID });
  });

  it('relays object and attribute changes made through the controller path', async () => {
    const a = await join();
    const { store } = node.node;
    const objectId = '0a0b0c0d-0000-4000-8000-0000000000aa';

    const added = a.client.next('AddObjects');
    await store.apply(
      store.objectOp(DEFAULT_WORLD_ID, objectId, { parentId: DEFAULT_WORLD_ID, name: 'Lamp' }, 'system'),
    );
    expect((await added).objects).toMatchObject([{ id: objectId, name: 'Lamp', parentId: DEFAULT_WORLD_ID }]);

    // A type with posbus_auto goes out as its value; render data (object_color) as ObjectData.
    const changed = a.client.next('AttributeValueChanged');
    await store.apply(
      store.attributeOp(
        DEFAULT_WORLD_ID,
        objectId,
        CORE_PLUGIN_ID,
        'soundtrack',
        { tracks: ['a'] },
        'system',
      ),
    );
    expect(await changed).toMatchObject({
      attributeName: 'soundtrack',
      changeType: 'attribute_changed',
      value: { tracks: ['a'] },
      targetId: objectId,
    });
    const data = a.client.next('ObjectData');
    await store.apply(
      store.attributeOp(
        DEFAULT_WORLD_ID,
        objectId,
        CORE_PLUGIN_ID,
        'object_color',
        { value: '#123456' },
        'system',
      ),
    );
    expect((await data).entries).toEqual({ string: { object_color: '#123456' } });

    const removed = a.client.next('RemoveObjects');
    await store.apply(store.objectOp(DEFAULT_WORLD_ID, objectId, { removed: true }, 'system'));
    expect((await removed).objects).toEqual([objectId]);

    // A late joiner gets neither the removed object nor its data.
    const late = await join();
    await eventually(() => late.received.some((m) => m.type === 'AddUsers'), 5000, 'late joiner entry');
    const ids = late.received.flatMap((m) => (m.type === 'AddObjects' ? m.objects.map((o) => o.id) : []));
    expect(ids).not.toContain(objectId);
    expect(ids).toContain(CUBE);
  });
});

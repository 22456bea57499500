/**
 * `WorldStore.applyBatch` (world sync's write path) on a real LevelDB: what is staged is in memory at once
 * (a child's check sees its parent), written in one batch, then its changes emitted in order; an op handed
 * to `apply` meanwhile waits for the batch; a batch whose write fails leaves neither memory nor disk with
 * any of it and emits nothing; what was staged before `stage` threw is still written; a listener that
 * throws keeps none of the other changes from being emitted.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HybridClock } from '../../node/world/hlc.ts';
import type { WorldOp } from '../../node/world/ops.ts';
import { attributeKey, type WorldChange, WorldStore } from '../../node/world/world-store.ts';
import { Database } from '../../storage/db/database.ts';

const OWNER = randomUUID();
const PLUGIN = 'f0f0f0f0-0f0f-4ff0-af0f-f0f0f0f0f0f0';

let dir: string | undefined;
let db: Database | undefined;

afterEach(async () => {
  await db?.close().catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
  db = undefined;
  dir = undefined;
});

async function openStore(): Promise<{ store: WorldStore; changes: WorldChange[] }> {
  dir ??= await mkdtemp(join(tmpdir(), 'odyssey-batch-'));
  db = new Database(join(dir, 'db'));
  await db.open();
  const store = new WorldStore({ db, clock: new HybridClock('batch-test') });
  await store.start();
  const changes: WorldChange[] = [];
  store.on('change', (c) => changes.push(c));
  return { store, changes };
}

/** A world, a child of it and an attribute of the child, stamped by another node's clock, a minute ahead. */
function someOps(worldId: string) {
  const remote = new HybridClock('remote', () => Date.now() + 60_000);
  const childId = randomUUID();
  const op = (objectId: string, fields: Record<string, unknown>): WorldOp => ({
    kind: 'object.put',
    worldId,
    objectId,
    fields,
    stamp: remote.now(),
    origin: 'remote',
    actor: OWNER,
  });
  const ops: WorldOp[] = [
    op(worldId, { name: 'W', ownerId: OWNER, parentId: '' }),
    op(childId, { name: 'child', ownerId: OWNER, parentId: worldId }),
    {
      kind: 'attribute.put',
      worldId,
      objectId: childId,
      pluginId: PLUGIN,
      name: 'object_color',
      value: { value: '#fff' },
      stamp: remote.now(),
      origin: 'remote',
      actor: OWNER,
    },
  ];
  return { childId, ops };
}

describe('WorldStore.applyBatch', () => {
  it('shows each op to the next at once, writes them in one batch, then emits every change in order', async () => {
    const { store, changes } = await openStore();
    const worldId = randomUUID();
    const { childId, ops } = someOps(worldId);
    let later: WorldOp | undefined;
    let laterApplied: Promise<unknown> | undefined;
    const result = await store.applyBatch(worldId, async (put) => {
      expect(put(ops[0])).toMatchObject({ kind: 'object', created: true });
      // The parent is there for the child's check, before anything is written or emitted.
      expect(store.peek(worldId)?.objects.get(worldId)?.name).toBe('W');
      expect(put(ops[1])).toMatchObject({ kind: 'object', created: true });
      // The clock observed the remote stamps, a minute ahead, as `apply` does: what it stamps is later.
      later = store.objectOp(worldId, childId, { name: 'renamed' }, OWNER);
      expect(later.stamp > ops[1].stamp).toBe(true);
      // An op handed to `apply` meanwhile waits for the batch.
      laterApplied = store.apply(later);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(put(ops[2])).toMatchObject({ kind: 'attribute', value: { value: '#fff' } });
      expect(put(ops[2])).toBeUndefined();
      expect(changes).toEqual([]);
      return 'staged';
    });
    expect(result).toBe('staged');
    expect(changes.map((c) => c.op)).toEqual(ops);
    await laterApplied;
    expect(changes.map((c) => c.op)).toEqual([...ops, later]);
    expect(store.get(worldId)?.objects.get(childId)?.name).toBe('renamed');

    // On disk: a store loading the same database has it all.
    await db?.close();
    const reopened = await openStore();
    const state = reopened.store.get(worldId);
    expect(state?.objects.get(childId)?.name).toBe('renamed');
    expect(state?.attributes.get(attributeKey(childId, PLUGIN, 'object_color'))?.value).toEqual({
      value: '#fff',
    });
  });

  it('takes a batch whose write fails out of memory again, emitting nothing', async () => {
    const { store, changes } = await openStore();
    const worldId = randomUUID();
    const { childId, ops } = someOps(worldId);
    await store.apply(ops[0]);
    const root = store.get(worldId)?.objects.get(worldId);
    changes.length = 0;
    const rename: WorldOp = { ...store.objectOp(worldId, worldId, { name: 'renamed' }, OWNER) };
    const failed = store.applyBatch(worldId, async (put) => {
      put(rename);
      put(ops[1]);
      put(ops[2]);
      expect(store.peek(worldId)?.objects.get(worldId)?.name).toBe('renamed');
      // The database goes away under the batch: its write fails.
      await db?.close();
    });
    await expect(failed).rejects.toThrow();
    expect(changes).toEqual([]);
    const state = store.peek(worldId);
    expect(state?.objects.get(worldId)).toBe(root);
    expect(state?.objects.has(childId)).toBe(false);
    expect(state?.attributes.size).toBe(0);
    expect(store.worldOfObject(childId)).toBeUndefined();

    // A world new to the store is taken out whole.
    const otherWorld = randomUUID();
    const other = someOps(otherWorld);
    await expect(store.applyBatch(otherWorld, async (put) => void put(other.ops[0]))).rejects.toThrow();
    expect(store.peek(otherWorld)).toBeUndefined();
    expect(store.worldOfObject(otherWorld)).toBeUndefined();

    const reopened = await openStore();
    expect(reopened.store.get(worldId)?.objects.get(worldId)).toEqual(root);
    expect(reopened.store.get(worldId)?.objects.has(childId)).toBe(false);
    expect(reopened.store.peek(otherWorld)).toBeUndefined();
  });

  it('writes what was staged before the stage failed, then rethrows its error', async () => {
    const { store, changes } = await openStore();
    const worldId = randomUUID();
    const { ops } = someOps(worldId);
    const failed = store.applyBatch(worldId, async (put) => {
      put(ops[0]);
      throw new Error('stage failed');
    });
    await expect(failed).rejects.toThrow('stage failed');
    expect(changes.map((c) => c.op)).toEqual([ops[0]]);
    expect(store.get(worldId)?.objects.get(worldId)?.name).toBe('W');
    // An op of another world has no place in the batch.
    await expect(
      store.applyBatch(worldId, async (put) => void put(someOps(randomUUID()).ops[0])),
    ).rejects.toThrow(/op of .* put in a batch of/);
  });

  it('emits every change of a written batch past a listener that throws, then rethrows its error', async () => {
    const { store, changes } = await openStore();
    const worldId = randomUUID();
    const { childId, ops } = someOps(worldId);
    // Registered first: with EventEmitter, a throwing listener keeps the ones after it from that change only.
    store.prependListener('change', (c) => {
      if (c.op === ops[0]) throw new Error('listener failed');
    });
    const applied = store.applyBatch(worldId, async (put) => {
      for (const op of ops) put(op);
    });
    await expect(applied).rejects.toThrow('listener failed');
    // The changes after the failed one were all emitted, and the batch is in memory.
    expect(changes.map((c) => c.op)).toEqual(ops.slice(1));
    expect(store.get(worldId)?.objects.get(childId)?.name).toBe('child');

    // When the stage failed too, its error is the one its caller sees (a peer's bad answer, say).
    const other = someOps(randomUUID());
    store.prependListener('change', () => {
      throw new Error('listener failed again');
    });
    const both = store.applyBatch(other.ops[0].worldId, async (put) => {
      put(other.ops[0]);
      throw new Error('stage failed');
    });
    await expect(both).rejects.toThrow('stage failed');
  });
});

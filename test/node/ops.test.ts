import { describe, expect, it } from 'vitest';
import { HybridClock, parseStamp, ZERO_STAMP } from '../../node/world/hlc.ts';
import { mergeAttribute, mergeObject, type ObjectPutOp } from '../../node/world/ops.ts';

const op = (stamp: string, fields: ObjectPutOp['fields']): ObjectPutOp => ({
  kind: 'object.put',
  worldId: 'w',
  objectId: 'o',
  fields,
  stamp,
  origin: 'n',
  actor: 'system',
});

describe('hybrid logical clock', () => {
  it('issues strictly increasing stamps even when the wall clock stands still or goes back', () => {
    let wall = 1000;
    const clock = new HybridClock('node-a', () => wall);
    const a = clock.now();
    const b = clock.now();
    wall = 500;
    const c = clock.now();
    expect(a < b && b < c).toBe(true);
    expect(parseStamp(c)).toEqual({ wall: 1000, counter: 2, nodeId: 'node-a' });
  });

  it('orders its next stamp after an observed remote stamp', () => {
    const remote = new HybridClock('node-b', () => 9_000).now();
    const local = new HybridClock('node-a', () => 1_000);
    local.observe(remote);
    expect(local.now() > remote).toBe(true);
  });

  it('breaks ties of equal time and counter by node id', () => {
    const a = new HybridClock('node-a', () => 5).now();
    const b = new HybridClock('node-b', () => 5).now();
    expect(a < b).toBe(true);
    expect(ZERO_STAMP < a).toBe(true);
  });
});

describe('last-writer-wins merge', () => {
  const clock = new HybridClock('n', () => 1);
  const s1 = clock.now();
  const s2 = clock.now();

  it('applies a newer op per field and reports what changed', () => {
    const first = mergeObject(undefined, op(s1, { name: 'a', isEditable: false }), 0);
    expect(first.changed.sort()).toEqual(['isEditable', 'name']);
    const second = mergeObject(first.next, op(s2, { name: 'b' }), 0);
    expect(second.changed).toEqual(['name']);
    expect(second.next.name).toBe('b');
    expect(second.next.isEditable).toBe(false);
  });

  it('ignores the same op twice and an older op after a newer one', () => {
    const { next } = mergeObject(undefined, op(s2, { name: 'new' }), 0);
    expect(mergeObject(next, op(s2, { name: 'new' }), 0).changed).toEqual([]);
    const older = mergeObject(next, op(s1, { name: 'old' }), 0);
    expect(older.changed).toEqual([]);
    expect(older.next.name).toBe('new');
  });

  it('converges whatever the order ops arrive in', () => {
    const ops = [op(s1, { name: 'x', showOnMinimap: true }), op(s2, { name: 'y' })];
    const forward = ops.reduce(
      (rec, o) => mergeObject(rec, o, 0).next,
      mergeObject(undefined, op(ZERO_STAMP, {}), 0).next,
    );
    const backward = [...ops]
      .reverse()
      .reduce((rec, o) => mergeObject(rec, o, 0).next, mergeObject(undefined, op(ZERO_STAMP, {}), 0).next);
    expect(forward.name).toBe('y');
    expect(backward.name).toBe('y');
    expect(backward.showOnMinimap).toBe(true);
  });

  it('merges attributes by stamp, removal included', () => {
    const base = {
      kind: 'attribute.put' as const,
      worldId: 'w',
      objectId: 'o',
      pluginId: 'p',
      name: 'a',
      origin: 'n',
      actor: 'system',
    };
    const set = mergeAttribute(undefined, { ...base, value: { v: 1 }, stamp: s1 }, 0);
    expect(set?.value).toEqual({ v: 1 });
    const removed = mergeAttribute(set, { ...base, value: null, stamp: s2 }, 0);
    expect(removed?.value).toBeNull();
    expect(mergeAttribute(removed, { ...base, value: { v: 2 }, stamp: s1 }, 0)).toBeUndefined();
  });
});

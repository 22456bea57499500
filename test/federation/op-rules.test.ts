/** The field checks a node applies to another node's op before its rights checks (op-rules.ts). */
import { describe, expect, it } from 'vitest';
import { toWorldOp } from '../../node/federation/op-rules.ts';
import type { WireOp } from '../../protocol/gossip/index.ts';

const base = {
  kind: 'object.put' as const,
  worldId: '5e1f0d2c-7a41-4c39-9b1e-0d0000000001',
  objectId: '5e1f0d2c-7a41-4c39-9b1e-0d0000000101',
  stamp: '018c2a5b7e00:0001:12D3KooWpeer',
  origin: '12D3KooWpeer',
  actor: '5e1f0d2c-7a41-4c39-9b1e-0d0000000102',
};
const accepts = (fields: Record<string, unknown>) => toWorldOp({ ...base, fields } as WireOp) !== undefined;

describe('remote op fields', () => {
  it('takes the ids the node itself writes, the seed system user and the nil id included', () => {
    expect(accepts({ ownerId: '00000000-0000-0000-0000-000000000003', parentId: '' })).toBe(true);
    expect(accepts({ ownerId: '00000000-0000-0000-0000-000000000000' })).toBe(true);
    expect(accepts({ parentId: base.worldId, name: 'Lamp', options: { spawnPoint: { x: 1 } } })).toBe(true);
  });

  it('refuses ids that are not ids, unknown fields, wrong types and options past the value limits', () => {
    expect(accepts({ ownerId: 'root' })).toBe(false);
    expect(accepts({ parentId: '../../etc' })).toBe(false);
    expect(accepts({ secret: true })).toBe(false);
    expect(accepts({ removed: 'yes' })).toBe(false);
    expect(accepts({ transform: { position: { x: Number.NaN, y: 0, z: 0 } } })).toBe(false);
    expect(accepts({ options: { blob: 'x'.repeat(70_000) } })).toBe(false);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(accepts({ options: deep })).toBe(false);
  });
});

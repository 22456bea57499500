/**
 * World operations. Every change to a world — from PosBus, REST, the seed, the chain or a peer node — is an
 * op, merged last-writer-wins per (object, field) or per attribute by its HLC stamp. These functions are
 * pure: applying the same op twice, or an older op after a newer one, yields "no change".
 */
import type { AttributeRecord, ObjectFields, ObjectRecord } from '../../storage/db/records.ts';
import { type Stamp, ZERO_STAMP } from './hlc.ts';

export interface ObjectPutOp {
  kind: 'object.put';
  worldId: string;
  objectId: string;
  fields: Partial<ObjectFields>;
  stamp: Stamp;
  /** The node that made the op. */
  origin: string;
  /** Who the op was made for: a user id, `system` (seed, starter assets) or `chain:<chain id>`. */
  actor: string;
}

export interface AttributePutOp {
  kind: 'attribute.put';
  worldId: string;
  /** The object the attribute belongs to (the world itself for world attributes). */
  objectId: string;
  pluginId: string;
  name: string;
  /** null removes the attribute. */
  value: Record<string, unknown> | null;
  stamp: Stamp;
  origin: string;
  actor: string;
}

export type WorldOp = ObjectPutOp | AttributePutOp;

/** The actor of what the node does by itself: the seed and the starter assets. */
export const SYSTEM_ACTOR = 'system';
/** The actor of worlds made and moved by chain events (Odyssey NFT mints and transfers). */
export const CHAIN_ACTOR = 'chain';

const IDENTITY = { x: 0, y: 0, z: 0 };
export const DEFAULT_OBJECT_FIELDS: ObjectFields = {
  parentId: '',
  ownerId: '',
  typeId: '',
  name: '',
  assetType: '00000000-0000-0000-0000-000000000000',
  assetFormat: 0,
  transform: { position: IDENTITY, rotation: IDENTITY, scale: { x: 1, y: 1, z: 1 } },
  isEditable: true,
  tetheredToParent: false,
  showOnMinimap: false,
  options: {},
  removed: false,
};

const FIELD_NAMES = Object.keys(DEFAULT_OBJECT_FIELDS) as (keyof ObjectFields)[];

/** Merges an object op into the current record. Returns the next record and the fields that changed. */
export function mergeObject(
  current: ObjectRecord | undefined,
  op: ObjectPutOp,
  now: number,
): { next: ObjectRecord; changed: (keyof ObjectFields)[] } {
  const next: ObjectRecord = current
    ? { ...current, stamps: { ...current.stamps }, actors: { ...current.actors } }
    : {
        ...structuredClone(DEFAULT_OBJECT_FIELDS),
        id: op.objectId,
        worldId: op.worldId,
        stamps: {},
        actors: {},
        createdAt: now,
        updatedAt: now,
      };
  const actors: NonNullable<ObjectRecord['actors']> = next.actors ?? {};
  next.actors = actors;
  const changed: (keyof ObjectFields)[] = [];
  for (const field of FIELD_NAMES) {
    if (!(field in op.fields)) continue;
    const stamp = next.stamps[field] ?? ZERO_STAMP;
    if (op.stamp <= stamp) continue;
    (next as unknown as Record<string, unknown>)[field] = op.fields[field];
    next.stamps[field] = op.stamp;
    actors[field] = op.actor;
    changed.push(field);
  }
  if (changed.length) next.updatedAt = now;
  return { next, changed };
}

/** Merges an attribute op: the later stamp wins; undefined when the op changes nothing. */
export function mergeAttribute(
  current: AttributeRecord | undefined,
  op: AttributePutOp,
  now: number,
): AttributeRecord | undefined {
  if (current && op.stamp <= current.stamp) return undefined;
  return { value: op.value, stamp: op.stamp, actor: op.actor, updatedAt: now };
}

/**
 * What world sync compares and sends (world-sync.ts): a digest per object of every stamp it and its
 * attributes carry, and an object's state as ops, parents before children. Pure functions of a world's
 * state as `WorldStore` holds it.
 */
import { createHash } from 'node:crypto';
import type { ObjectDigests, WireOp } from '../../protocol/gossip/index.ts';
import type { AttributeRecord, ObjectFields, ObjectRecord } from '../../storage/db/records.ts';
import { parseStamp } from '../world/hlc.ts';
import type { WorldState } from '../world/world-store.ts';
import { LEGACY_ACTOR } from './op-rules.ts';

/** objectId → digest of every stamp the object and its attributes carry. */
export function digestsOf(state: WorldState): ObjectDigests {
  const attributes = attributesByObject(state);
  return Array.from(state.objects.values(), (o) => [o.id, digest(o, attributes.get(o.id))]);
}

/** The objects whose digests differ from `theirs` (objectId → digest), as ops, parents first. */
export function* differingObjects(state: WorldState, theirs: Map<string, string>): Generator<WireOp[]> {
  const attributes = attributesByObject(state);
  for (const object of parentsFirst(state)) {
    const own = attributes.get(object.id);
    if (theirs.get(object.id) === digest(object, own)) continue;
    yield objectOps(state.id, object, own ?? []);
  }
}

type NamedAttribute = [pluginId: string, name: string, record: AttributeRecord];

function attributesByObject(state: WorldState): Map<string, NamedAttribute[]> {
  const byObject = new Map<string, NamedAttribute[]>();
  for (const [k, record] of state.attributes) {
    const [objectId, pluginId, name] = k.split('!');
    const list = byObject.get(objectId);
    if (list) list.push([pluginId, name, record]);
    else byObject.set(objectId, [[pluginId, name, record]]);
  }
  return byObject;
}

function digest(object: ObjectRecord, attributes: NamedAttribute[] | undefined): string {
  const hash = createHash('sha256');
  for (const field of Object.keys(object.stamps).sort())
    hash.update(`${field}=${object.stamps[field as keyof ObjectFields]};`);
  const attrs = (attributes ?? []).map(([p, n, r]) => `${p}!${n}=${r.stamp};`).sort();
  for (const a of attrs) hash.update(a);
  return hash.digest('hex').slice(0, 24);
}

/**
 * An object's state as ops: one per distinct (stamp, actor) of its fields, one per attribute, with the
 * actor of the op that wrote each (LEGACY_ACTOR for records written before actors were kept).
 */
export function objectOps(worldId: string, object: ObjectRecord, attributes: NamedAttribute[]): WireOp[] {
  const groups = new Map<string, { stamp: string; actor: string; fields: Record<string, unknown> }>();
  for (const [field, stamp] of Object.entries(object.stamps)) {
    if (!stamp) continue;
    const actor = object.actors?.[field as keyof ObjectFields] ?? LEGACY_ACTOR;
    const k = `${stamp}\n${actor}`;
    const group = groups.get(k) ?? { stamp, actor, fields: {} };
    group.fields[field] = object[field as keyof ObjectFields];
    groups.set(k, group);
  }
  const ops: WireOp[] = [];
  for (const { stamp, actor, fields } of groups.values()) {
    const origin = parseStamp(stamp)?.nodeId ?? '';
    ops.push({ kind: 'object.put', worldId, objectId: object.id, fields, stamp, origin, actor });
  }
  for (const [pluginId, name, record] of attributes) {
    ops.push({
      kind: 'attribute.put',
      worldId,
      objectId: object.id,
      pluginId,
      name,
      value: record.value,
      stamp: record.stamp,
      origin: parseStamp(record.stamp)?.nodeId ?? '',
      actor: record.actor ?? LEGACY_ACTOR,
    });
  }
  return ops;
}

/** The world's objects, every parent before its children (a receiver checks a child against its parent). */
function parentsFirst(state: WorldState): ObjectRecord[] {
  const children = new Map<string, ObjectRecord[]>();
  for (const o of state.objects.values()) {
    if (o.id === state.id) continue;
    const list = children.get(o.parentId);
    if (list) list.push(o);
    else children.set(o.parentId, [o]);
  }
  const ordered: ObjectRecord[] = [];
  const root = state.objects.get(state.id);
  if (root) ordered.push(root);
  for (let i = 0; i < ordered.length; i++) {
    for (const child of children.get(ordered[i].id) ?? []) ordered.push(child);
  }
  // Objects whose parent is not in the world (bad data) go last, still sent.
  if (ordered.length < state.objects.size) {
    const placed = new Set(ordered.map((o) => o.id));
    for (const o of state.objects.values()) if (!placed.has(o.id)) ordered.push(o);
  }
  return ordered;
}

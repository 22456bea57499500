/**
 * What a node checks, by itself, before it applies an op another node made: the op's fields are of the
 * record's types, and the op's actor may do it under the world's own rules — the same `Access` and
 * attribute-permission checks a local edit passes. Verdicts: accept; ignore (not checkable yet, e.g. the
 * parent has not arrived: world sync brings it later); reject (counted against the sending peer).
 */
import { z } from 'zod';
import { isUuid, type WireOp } from '../../protocol/gossip/index.ts';
import type { ObjectFields } from '../../storage/db/records.ts';
import { checkValue } from '../attributes/values.ts';
import type { Access } from '../world/access.ts';
import { isStamp, parseStamp } from '../world/hlc.ts';
import { CHAIN_ACTOR, SYSTEM_ACTOR, type WorldOp } from '../world/ops.ts';
import { remoteUser } from '../world/remote-member.ts';
import type { WorldState } from '../world/world-store.ts';

export type Verdict = { verdict: 'accept'; op: WorldOp } | { verdict: 'ignore' | 'reject'; reason: string };

const vec = z.object({ x: z.number().finite(), y: z.number().finite(), z: z.number().finite() }).strict();
const id = z.string().max(64);
/** An id field that names an object or user: a UUID, or '' (a world's parent, no owner). */
// Any 8-4-4-4-12 hex id, as the API takes (the seed's system user and the nil id are not RFC UUIDs).
const ref = z.string().refine((s) => s === '' || isUuid(s), 'expected an id or ""');
const objectFieldsSchema = z
  .object({
    parentId: ref,
    ownerId: ref,
    typeId: id,
    name: z.string().max(1000),
    assetType: z.string().max(200),
    assetFormat: z.number().int().min(0).max(255),
    transform: z.object({ position: vec, rotation: vec, scale: vec }).strict(),
    isEditable: z.boolean(),
    tetheredToParent: z.boolean(),
    showOnMinimap: z.boolean(),
    options: z.record(z.string(), z.unknown()).refine((o) => {
      try {
        checkValue(o);
        return true;
      } catch {
        return false;
      }
    }, 'options over the attribute value limits'),
    removed: z.boolean(),
  })
  .partial()
  .strict();

export interface OpRuleContext {
  access: Access;
  /** The world an object id already belongs to here (ids are unique across worlds). */
  worldOfObject(objectId: string): string | undefined;
  /** The attribute permission model (attribute-service.ts). */
  mayWriteAttribute(actor: string, objectId: string, pluginId: string, name: string): Promise<boolean>;
  /** True when this node follows a chain itself: chain-made ops are then derived here, not taken. */
  followsChain: boolean;
  now: number;
  maxClockSkewMs: number;
}

/** The actor of ops rebuilt from records written before actors were kept: taken on the peer's word. */
export const LEGACY_ACTOR = 'sync';

/**
 * Checks an op from `sender`: gossiped (its signature verified by gossipsub, so its origin must be the
 * sender) or rebuilt from a peer's state by world sync (made by any node; the actor is still checked).
 */
export async function checkRemoteOp(
  wire: WireOp,
  sender: string,
  /** The world as stored here, removed or not (`WorldStore.peek`). */
  state: WorldState | undefined,
  ctx: OpRuleContext,
  via: 'gossip' | 'sync' = 'gossip',
): Promise<Verdict> {
  const stamp = isStamp(wire.stamp) ? parseStamp(wire.stamp) : undefined;
  if (!stamp || stamp.nodeId !== wire.origin) return reject('bad_stamp');
  if (via === 'gossip' && wire.origin !== sender) return reject('not_origin');
  if (stamp.wall > ctx.now + ctx.maxClockSkewMs) return reject('clock_skew');
  const op = toWorldOp(wire);
  if (!op) return reject('bad_fields');
  // Objects are stored by id alone: an op must not reach into another world's object.
  const home = ctx.worldOfObject(op.objectId);
  if (home && home !== op.worldId) return reject('wrong_world');
  if (via === 'sync' && (op.actor === LEGACY_ACTOR || op.actor === SYSTEM_ACTOR))
    return { verdict: 'accept', op };
  if (op.actor === CHAIN_ACTOR) {
    return ctx.followsChain
      ? { verdict: 'ignore', reason: 'chain_followed_here' }
      : { verdict: 'accept', op };
  }
  const allowed = await actorMay(op, state, ctx);
  return allowed === true ? { verdict: 'accept', op } : allowed;
}

/** A wire op as the world store takes it; undefined when its fields are not the record's types. */
export function toWorldOp(wire: WireOp): WorldOp | undefined {
  if (wire.kind === 'attribute.put') {
    // The same bounds as a local write (size, depth): a value PosBus could not carry never gets in.
    if (wire.value) {
      try {
        checkValue(wire.value);
      } catch {
        return undefined;
      }
    }
    return { ...wire };
  }
  const fields = objectFieldsSchema.safeParse(wire.fields);
  if (!fields.success) return undefined;
  return { ...wire, fields: fields.data as Partial<ObjectFields> };
}

async function actorMay(
  op: WorldOp,
  state: WorldState | undefined,
  ctx: OpRuleContext,
): Promise<true | Verdict> {
  const actor = remoteUser(op.actor, '', false);
  if (op.kind === 'attribute.put') {
    if (!state?.objects.get(op.objectId)) return { verdict: 'ignore', reason: 'unknown_object' };
    return (
      (await ctx.mayWriteAttribute(op.actor, op.objectId, op.pluginId, op.name)) || reject('not_allowed')
    );
  }
  const fields = op.fields;
  const current = state?.objects.get(op.objectId);
  if (current?.removed && current.id === op.worldId) {
    // A removed world comes back only by its owner's hand (or the chain's, above).
    return current.ownerId === op.actor || reject('not_owner');
  }
  if (!current) {
    if (op.objectId === op.worldId) {
      // A new world: its owner makes it.
      if (state?.objects.size) return reject('not_allowed');
      return fields.ownerId === op.actor || reject('not_owner');
    }
    if (!state) return { verdict: 'ignore', reason: 'unknown_world' };
    const parentId = fields.parentId;
    if (!parentId || !state.objects.get(parentId)) return { verdict: 'ignore', reason: 'unknown_parent' };
    if (ctx.access.isObjectAdmin(actor, parentId)) return true;
    const open = state.objects.get(state.id)?.options.publicEditing === true;
    return (open && fields.ownerId === op.actor) || reject('not_allowed');
  }
  if (!state) return { verdict: 'ignore', reason: 'unknown_world' };
  const names = Object.keys(fields) as (keyof ObjectFields)[];
  if (names.includes('ownerId') && fields.ownerId !== current.ownerId) {
    // Ownership of a world moves only by its owner's hand (or the chain, above); of an object, by an admin.
    if (current.id === state.id) return current.ownerId === op.actor || reject('not_owner');
  }
  if (names.length === 1 && names[0] === 'transform' && ctx.access.canEdit(actor, state, op.objectId))
    return true;
  return ctx.access.isObjectAdmin(actor, op.objectId) || reject('not_allowed');
}

function reject(reason: string): Verdict {
  return { verdict: 'reject', reason };
}

/**
 * World ops on a world's ops topic: the op exactly as the world store merges it (fields, HLC stamp,
 * origin node) plus the user it was made for, so that a receiver can check the user's rights itself.
 */
import {
  decodeRecord,
  encodeCbor,
  GOSSIP_VERSION,
  GossipDecodeError,
  isRecord,
  map,
  text,
  uuid,
} from './codec.ts';

export interface WireObjectPut {
  kind: 'object.put';
  worldId: string;
  objectId: string;
  /** Object fields by name; the receiver checks names and types against its own record schema. */
  fields: Record<string, unknown>;
  stamp: string;
  origin: string;
  /** A user id, `system` (seed, starter assets) or `chain` (Odyssey NFT worlds). */
  actor: string;
}

export interface WireAttributePut {
  kind: 'attribute.put';
  worldId: string;
  objectId: string;
  pluginId: string;
  name: string;
  value: Record<string, unknown> | null;
  stamp: string;
  origin: string;
  actor: string;
}

export type WireOp = WireObjectPut | WireAttributePut;

export const opsTopic = (worldId: string) => `/odyssey/world/${worldId}/ops/1`;

export function encodeOp(op: WireOp): Uint8Array {
  return encodeCbor({ v: GOSSIP_VERSION, op });
}

export function decodeOp(bytes: Uint8Array, maxBytes: number): WireOp {
  return readOp(map(decodeRecord(bytes, maxBytes), 'op'));
}

/** Checks an op's shape (from gossip or a sync frame). */
export function readOp(op: Record<string, unknown>): WireOp {
  const common = {
    worldId: uuid(op, 'worldId'),
    objectId: uuid(op, 'objectId'),
    stamp: text(op, 'stamp', 200),
    origin: text(op, 'origin', 128),
    actor: text(op, 'actor', 128),
  };
  if (op.kind === 'object.put') return { kind: 'object.put', ...common, fields: map(op, 'fields') };
  if (op.kind === 'attribute.put') {
    const value = op.value;
    if (value !== null && !isRecord(value)) throw new GossipDecodeError('bad_field', 'value');
    return {
      kind: 'attribute.put',
      ...common,
      pluginId: uuid(op, 'pluginId'),
      name: attributeName(op),
      value,
    };
  }
  throw new GossipDecodeError('bad_kind', String(op.kind));
}

/** `!` separates key parts in the node's tables, so it can never be part of a name. */
function attributeName(op: Record<string, unknown>): string {
  const name = text(op, 'name', 256);
  if (!name || name.includes('!')) throw new GossipDecodeError('bad_field', 'name');
  return name;
}

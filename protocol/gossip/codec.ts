/**
 * The gossip wire format's shared parts: CBOR in and out, one error type, and the shape checks every
 * message decoder uses. Pure: no I/O, nothing of the node's.
 */
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';

/** Every gossip message and sync frame carries this version; a newer one is refused, not guessed at. */
export const GOSSIP_VERSION = 1;

export class GossipDecodeError extends Error {
  override readonly name = 'GossipDecodeError';
  readonly reason: string;
  constructor(reason: string, detail?: string) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.reason = reason;
  }
}

export function encodeCbor(value: unknown): Uint8Array {
  return cborEncode(value);
}

/** CBOR bytes → a plain object with `v` = GOSSIP_VERSION; anything else throws GossipDecodeError. */
export function decodeRecord(bytes: Uint8Array, maxBytes: number): Record<string, unknown> {
  if (bytes.byteLength > maxBytes)
    throw new GossipDecodeError('too_large', `${bytes.byteLength} > ${maxBytes}`);
  let value: unknown;
  try {
    value = cborDecode(bytes);
  } catch (e) {
    throw new GossipDecodeError('not_cbor', (e as Error).message);
  }
  if (!isRecord(value)) throw new GossipDecodeError('not_a_map');
  if (value.v !== GOSSIP_VERSION) throw new GossipDecodeError('bad_version', String(value.v));
  return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/** Reads a string field, at most `max` characters. */
export function text(record: Record<string, unknown>, field: string, max = 256): string {
  const value = record[field];
  if (typeof value !== 'string' || value.length > max) throw new GossipDecodeError('bad_field', field);
  return value;
}

export function finite(record: Record<string, unknown>, field: string): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new GossipDecodeError('bad_field', field);
  return value;
}

export function list(record: Record<string, unknown>, field: string, max: number): unknown[] {
  const value = record[field];
  if (!Array.isArray(value) || value.length > max) throw new GossipDecodeError('bad_field', field);
  return value;
}

export function map(record: Record<string, unknown>, field: string): Record<string, unknown> {
  const value = record[field];
  if (!isRecord(value)) throw new GossipDecodeError('bad_field', field);
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function uuid(record: Record<string, unknown>, field: string): string {
  const value = record[field];
  if (typeof value !== 'string' || !UUID.test(value)) throw new GossipDecodeError('bad_field', field);
  return value;
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * Conversion between messages and the original's JSON form (Go JSON names in snake_case, UMIDs and
 * addresses as text, Uint256 as a decimal string, bytes as hex). The vector files use this form, and so
 * does the original client library's JavaScript API.
 */
import type { Message, MessageType } from './types.ts';
import { fromHex, toHex } from './umid.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Fields whose value is a map of free-form keys: copied as they are, never renamed. */
const OPAQUE: Partial<Record<MessageType, string>> = {
  AttributeValueChanged: 'value',
  ObjectData: 'entries',
};

/** Original JSON name → our name, where camelCase is not the rule. */
const RENAMED: Partial<Record<MessageType, Record<string, string>>> = {
  ActivityUpdate: { type: 'activityType' },
  ObjectTransform: { object_transform: 'transform' },
};

const snakeToCamel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const camelToSnake = (s: string) =>
  s
    .replace(/([A-Z])/g, '_$1')
    .replace(/([a-z])([0-9])/g, '$1_$2')
    .toLowerCase();

/** Builds a message from its original JSON fields. f32 components are rounded to float32, as the wire holds them. */
export function fromOriginalJson(type: MessageType, fields: Record<string, Json>): Message {
  if (type === 'EventStart') return { type, entries: { ...(fields as Record<string, string>) } };
  const renamed = RENAMED[type] ?? {};
  const message: Record<string, unknown> = { type };
  for (const [key, value] of Object.entries(fields)) {
    const name = renamed[key] ?? snakeToCamel(key);
    if (OPAQUE[type] === key) message[name] = structuredClone(value);
    else if (type === 'AddPendingStake' && key === 'amount') message[name] = BigInt(value as string);
    else if (type === 'GenericMessage' && key === 'data') message[name] = hexOrThrow(value as string);
    else message[name] = convertIn(value);
  }
  return message as unknown as Message;
}

/** The original JSON fields of a message (without its type). */
export function toOriginalJson(message: Message): Record<string, Json> {
  if (message.type === 'EventStart') return { ...message.entries };
  const renamed = Object.fromEntries(Object.entries(RENAMED[message.type] ?? {}).map(([k, v]) => [v, k]));
  const fields: Record<string, Json> = {};
  for (const [name, value] of Object.entries(message)) {
    if (name === 'type') continue;
    const key = renamed[name] ?? camelToSnake(name);
    fields[key] = OPAQUE[message.type] === key ? structuredClone(value as Json) : convertOut(value);
  }
  return fields;
}

function hexOrThrow(hex: string): Uint8Array {
  const bytes = fromHex(hex);
  if (!bytes) throw new TypeError(`not hex: ${hex}`);
  return bytes;
}

function isVec3(o: object): boolean {
  const keys = Object.keys(o);
  return keys.length === 3 && 'x' in o && 'y' in o && 'z' in o;
}

function convertIn(value: Json): unknown {
  if (Array.isArray(value)) return value.map(convertIn);
  if (value === null || typeof value !== 'object') return value;
  if (isVec3(value)) {
    const v = value as Record<'x' | 'y' | 'z', number>;
    return { x: Math.fround(v.x), y: Math.fround(v.y), z: Math.fround(v.z) };
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeToCamel(k), convertIn(v)]));
}

function convertOut(value: unknown): Json {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return toHex(value);
  if (Array.isArray(value)) return value.map(convertOut);
  if (value === null || typeof value !== 'object') return value as Json;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [camelToSnake(k), convertOut(v)]));
}

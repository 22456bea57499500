/**
 * Checks the PosBus codec against a vector file (SPEC.md §9): every vector's `hex` must decode to its
 * `fields`, and its `fields` must encode to its `hex`. Prints one line per failure, then `N passed, M failed`.
 *
 *   npm run posbus:vectors -- ../shared/posbus/vectors.json
 */
import { readFileSync } from 'node:fs';
import {
  decode,
  encode,
  fromHex,
  type Message,
  type MessageType,
  TYPE_IDS,
  toHex,
} from '../protocol/posbus/index.ts';
import { fromOriginalJson, toOriginalJson } from '../protocol/posbus/json.ts';
import { type BodyCodec, codecs } from '../protocol/posbus/messages.ts';
import { MusWriter } from '../protocol/posbus/writer.ts';

interface Vector {
  message: string;
  type_id: string;
  fields: Record<string, unknown>;
  hex: string;
}

/** Stands, in a float32 mask, where the message holds a number the wire carries as float32. */
export const F32 = Symbol('f32');

/**
 * Which numbers of `message` the wire carries as float32, found by running the message's own codec
 * (protocol/posbus/messages.ts): the codec writes the message through a writer that notes every `f32`
 * write, while the message's objects report which number was read last. Returns the original JSON
 * fields of the message with `F32` at those places (other leaves as they are). Key names play no part:
 * an AnyMap value shaped `{x,y,z}` is float64 on the wire and stays a plain number here.
 */
export function float32Mask(message: Message): Record<string, unknown> {
  let last: [object, PropertyKey] | undefined;
  const marked = new Map<object, Set<PropertyKey>>();
  const plain = (v: unknown): v is object =>
    typeof v === 'object' &&
    v !== null &&
    (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype);
  const watch = <O extends object>(target: O): O =>
    new Proxy(target, {
      get(object, key, receiver) {
        const value = Reflect.get(object, key, receiver);
        if (typeof value === 'number') last = [object, key];
        return plain(value) ? watch(value) : value;
      },
    });
  class F32Recorder extends MusWriter {
    override f32(v: number): void {
      if (last) {
        const [object, key] = last;
        marked.set(object, (marked.get(object) ?? new Set()).add(key));
      }
      super.f32(v);
    }
  }
  const codec = codecs[message.type] as BodyCodec<Message>;
  codec.write(new F32Recorder(), watch(message));
  // A copy of the message with F32 at the marked places, converted to JSON names like the message itself.
  const mask = (value: unknown): unknown => {
    if (!plain(value)) return value;
    const keys = marked.get(value);
    if (Array.isArray(value)) return value.map((v, i) => (keys?.has(String(i)) ? F32 : mask(v)));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keys?.has(k) ? F32 : mask(v)]));
  };
  return toOriginalJson(mask(message) as Message) as Record<string, unknown>;
}

/**
 * The first place where `actual` differs from `expected`, or undefined. Where `f32` (a float32 mask of
 * the same message) holds `F32`, the expected number is compared after float32 rounding.
 */
export function firstDifference(
  actual: unknown,
  expected: unknown,
  path = '',
  f32: unknown = undefined,
): string | undefined {
  if (typeof expected === 'number') {
    const want = f32 === F32 ? Math.fround(expected) : expected;
    return Object.is(actual, want) ? undefined : `${path}: expected ${show(want)}, got ${show(actual)}`;
  }
  if (expected === null || typeof expected !== 'object') {
    return Object.is(actual, expected)
      ? undefined
      : `${path}: expected ${show(expected)}, got ${show(actual)}`;
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual) !== Array.isArray(expected)) {
    return `${path}: expected ${show(expected)}, got ${show(actual)}`;
  }
  const want = expected as Record<string, unknown>;
  const got = actual as Record<string, unknown>;
  const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
  const mask = (f32 ?? {}) as Record<string, unknown>;
  for (const key of keys) {
    if (!(key in want)) return `${path}.${key}: unexpected field`;
    if (!(key in got)) return `${path}.${key}: missing`;
    const diff = firstDifference(got[key], want[key], `${path}.${key}`, mask[key]);
    if (diff) return diff;
  }
  return undefined;
}

function show(v: unknown): string {
  if (Object.is(v, -0)) return '-0';
  return typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v));
}

/** Checks one vector; returns the failure lines (empty when it passes). */
export function checkVector(v: Vector, index: number): string[] {
  const label = `${v.message} #${index}`;
  const failures: string[] = [];
  const type = v.message as MessageType;
  if (!(type in TYPE_IDS)) return [`${label}: unknown message type`];
  if (Number.parseInt(v.type_id, 16) !== TYPE_IDS[type])
    failures.push(`${label}: type_id ${v.type_id} is not ours`);
  const frame = fromHex(v.hex);
  if (!frame) return [`${label}: hex is not hex`];

  try {
    const decoded = decode(frame);
    if (decoded.type !== type) failures.push(`${label} decode: got message ${decoded.type}`);
    else {
      let f32: Record<string, unknown> | undefined;
      try {
        f32 = float32Mask(fromOriginalJson(type, v.fields as never));
      } catch {
        // Fields the codec cannot write: the encode check below reports them; compare numbers exactly.
      }
      const diff = firstDifference(toOriginalJson(decoded), v.fields, 'fields', f32);
      if (diff) failures.push(`${label} decode: ${diff}`);
    }
  } catch (e) {
    failures.push(`${label} decode: ${(e as Error).message}`);
  }

  try {
    const encoded = encode(fromOriginalJson(type, v.fields as never));
    const at = firstDifferingByte(encoded, frame);
    if (at >= 0) {
      const got = at < encoded.length ? toHex(encoded.subarray(at, at + 1)) : 'end of frame';
      const want = at < frame.length ? toHex(frame.subarray(at, at + 1)) : 'end of frame';
      failures.push(`${label} encode: first differing byte at offset ${at}: expected ${want}, got ${got}`);
    }
  } catch (e) {
    failures.push(`${label} encode: ${(e as Error).message}`);
  }
  return failures;
}

function firstDifferingByte(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function main(path: string | undefined): number {
  if (!path) {
    console.error('usage: posbus-vectors FILE');
    return 2;
  }
  const vectors = JSON.parse(readFileSync(path, 'utf8')) as Vector[];
  if (!Array.isArray(vectors)) {
    console.error(`${path}: expected a JSON array of vectors`);
    return 2;
  }
  let passed = 0;
  let failed = 0;
  vectors.forEach((v, i) => {
    const failures = checkVector(v, i);
    for (const line of failures) console.log(line);
    if (failures.length) failed++;
    else passed++;
  });
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv[2]);

/**
 * Test helpers for the PosBus codec. Everything here is written from SPEC.md, independently of the codec,
 * so that tests compare the codec against the specification rather than against itself.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The shared vector file, `../shared/posbus/vectors.json` relative to the repository root. */
export const VECTORS_PATH = resolve(REPO_ROOT, '../shared/posbus/vectors.json');

export interface Vector {
  message: string;
  type_id: string;
  fields: Record<string, unknown>;
  hex: string;
}

export function loadVectors(path = VECTORS_PATH): Vector[] {
  return JSON.parse(readFileSync(path, 'utf8')) as Vector[];
}

/** Type ids of SPEC.md §5. */
export const SPEC_TYPE_IDS = {
  ActivityUpdate: 0xca57695d,
  AddObjects: 0x2452a9c1,
  AddPendingStake: 0xf020d682,
  AddUsers: 0xf51f2aff,
  AttributeValueChanged: 0x10dacdb7,
  EventStart: 0xaa854d2c,
  FlyToMe: 0xa6eb70c6,
  GenericMessage: 0xf508e4a3,
  HandShake: 0x7c41941a,
  HighFive: 0x3d501432,
  LockObject: 0xa7de9f59,
  LockObjectResponse: 0x0924668c,
  MyTransform: 0xf878c4bf,
  Notification: 0xc1fb41d7,
  ObjectData: 0xcace197c,
  ObjectDefinition: 0xd742b52e,
  ObjectTransform: 0xea6da4b4,
  RemoveObjects: 0x6bf88c24,
  RemoveUsers: 0xf5a14bb0,
  SetWorld: 0xccdf2e49,
  Signal: 0xadc1964d,
  TeleportRequest: 0x78da55d9,
  TriggerVisualEffects: 0xd96089c6,
  UnlockObject: 0xa54edeb9,
  UserAction: 0xef1a2e75,
  UserData: 0xf702ef5f,
  UserStakedToOdyssey: 0x10dacabc,
  UserTransform: 0x3bc97ebb,
  UsersTransformList: 0x285954b8,
} as const;

export const hex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Bytes of a hex string; spaces are ignored. */
export function bytes(h: string): Uint8Array {
  const clean = h.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex in test: ${h}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

function u32le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}

/** A frame as SPEC.md §2 defines it: typeId LE, body, ~typeId LE. */
export function frame(typeId: number, body: Uint8Array | string | number[]): Uint8Array {
  const b = typeof body === 'string' ? bytes(body) : Uint8Array.from(body);
  return Uint8Array.from([...u32le(typeId), ...b, ...u32le(~typeId >>> 0)]);
}

export const bodyOf = (f: Uint8Array): Uint8Array => f.subarray(4, f.length - 4);

/** Unsigned LEB128 (SPEC.md §3 `uvarint`). */
export function leb128(v: bigint | number): number[] {
  let x = BigInt(v);
  const out: number[] = [];
  while (x > 0x7fn) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

/** Zigzag of a 64-bit signed value: 0→0, -1→1, 1→2, -2→3. */
export function zigzag(v: bigint | number): bigint {
  const x = BigInt(v);
  return x >= 0n ? x << 1n : (-x << 1n) - 1n;
}

/** MUS `int` (zigzag + LEB128). */
export const musInt = (v: bigint | number): number[] => leb128(zigzag(v));

/** MUS string: zigzag byte length, then UTF-8. */
export function musString(s: string): number[] {
  const utf8 = Buffer.from(s, 'utf8');
  return [...musInt(utf8.length), ...utf8];
}

/** 16 raw bytes of a UMID in RFC-4122 order. */
export const umidBytes = (id: string): number[] => [...bytes(id.replace(/-/g, ''))];

/**
 * A gotiny value under construction (SPEC.md §4): gvarints, gstrings and flag bits that open a byte at the
 * current output position when needed.
 */
export class Gotiny {
  out: number[] = [];
  private flagAt = -1;
  private bit = 0x100;

  flag(on: boolean): this {
    if (this.flagAt < 0 || this.bit === 0x100) {
      this.flagAt = this.out.length;
      this.out.push(0);
      this.bit = 1;
    }
    if (on) this.out[this.flagAt] |= this.bit;
    this.bit <<= 1;
    return this;
  }

  /** gvarint of width `groups` (5 for 32-bit values, 9 for 64-bit). */
  gvarint(v: bigint | number, groups = 5): this {
    const x = BigInt(v);
    let k = 1;
    while (k < groups && x >= (1n << BigInt(7 * k)) - 1n) k++;
    for (let i = 0; i < k - 1; i++) this.out.push(Number((x >> BigInt(7 * i)) & 0x7fn) | 0x80);
    this.out.push(Number(x >> BigInt(7 * (k - 1))));
    return this;
  }

  gstring(s: string): this {
    const utf8 = Buffer.from(s, 'utf8');
    this.gvarint(utf8.length);
    this.out.push(...utf8);
    return this;
  }

  raw(...b: number[]): this {
    this.out.push(...b);
    return this;
  }
}

export const NIL = '00000000-0000-0000-0000-000000000000';

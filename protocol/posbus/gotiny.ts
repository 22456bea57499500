/**
 * The three field types the original encodes with gotiny v0.0.3 instead of MUS (SPEC.md §4): Uint256,
 * EthAddress and AnyMap. Each field is an independent gotiny value with its own flag-byte state.
 */
import { PosbusEncodeError } from './errors.ts';
import { decodeUtf8, type MusReader } from './reader.ts';
import type { AnyMap, AnyValue } from './types.ts';
import type { MusWriter } from './writer.ts';

const scratch = new DataView(new ArrayBuffer(8));
const utf8 = new TextEncoder();
const MAX_DEPTH = 64;
const UINT256_MAX = (1n << 256n) - 1n;
const LIMB = (1n << 64n) - 1n;

// ---- gvarints -----------------------------------------------------------------------------------

/** gotiny's 32-bit varint: like LEB128, but a value of 2^(7k)-1 takes k+1 bytes and the 5th byte is whole. */
function writeGvarint32(w: MusWriter, v: number): void {
  let k = 1;
  while (k < 5 && v >= 2 ** (7 * k) - 1) k++;
  w.reserve(k);
  for (let i = 0; i < k - 1; i++) w.buf[w.pos++] = ((v >>> (7 * i)) & 0x7f) | 0x80;
  w.buf[w.pos++] = (v >>> (7 * (k - 1))) & 0xff;
}

function readGvarint32(r: MusReader): number {
  let v = 0;
  for (let i = 0; i < 5; i++) {
    const b = r.byte();
    if (i === 4) return (v | (b << 28)) >>> 0;
    v |= (b & 0x7f) << (7 * i);
    if (b < 0x80) return v >>> 0;
  }
  return v >>> 0;
}

/** gotiny's 64-bit varint (9 groups at most, the 9th byte holding the top 8 bits). */
function writeGvarint64(w: MusWriter, v: bigint): void {
  let k = 1;
  while (k < 9 && v >= (1n << BigInt(7 * k)) - 1n) k++;
  w.reserve(k);
  for (let i = 0; i < k - 1; i++) w.buf[w.pos++] = Number((v >> BigInt(7 * i)) & 0x7fn) | 0x80;
  w.buf[w.pos++] = Number((v >> BigInt(7 * (k - 1))) & 0xffn);
}

function readGvarint64(r: MusReader): bigint {
  let v = 0n;
  for (let i = 0; i < 9; i++) {
    const b = r.byte();
    if (i === 8) return v | (BigInt(b) << 56n);
    v |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) return v;
  }
  return v;
}

// ---- Uint256 and EthAddress ---------------------------------------------------------------------

export function writeUint256(w: MusWriter, v: bigint, field = 'uint256'): void {
  if (typeof v !== 'bigint' || v < 0n || v > UINT256_MAX)
    throw new PosbusEncodeError(field, `not a uint256: ${v}`);
  for (let limb = 0n; limb < 256n; limb += 64n) writeGvarint64(w, (v >> limb) & LIMB);
}

export function readUint256(r: MusReader): bigint {
  let v = 0n;
  for (let limb = 0n; limb < 256n; limb += 64n) v |= (readGvarint64(r) & LIMB) << limb;
  return v;
}

const ETH_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export function writeEthAddress(w: MusWriter, address: string, field = 'wallet'): void {
  if (!ETH_ADDRESS.test(address)) throw new PosbusEncodeError(field, `not an Ethereum address: ${address}`);
  w.reserve(20);
  for (let i = 0; i < 20; i++) w.buf[w.pos++] = Number.parseInt(address.slice(2 + 2 * i, 4 + 2 * i), 16);
}

export function readEthAddress(r: MusReader): string {
  const bytes = r.raw(20);
  let s = '0x';
  for (let i = 0; i < 20; i++) s += bytes[i].toString(16).padStart(2, '0');
  return s;
}

// ---- AnyMap -------------------------------------------------------------------------------------

/** Flag-bit state of one gotiny value being written: bits land in a byte opened where the first was needed. */
class FlagWriter {
  private readonly w: MusWriter;
  private at = -1;
  private bit = 0;

  constructor(w: MusWriter) {
    this.w = w;
  }

  flag(on: boolean): void {
    if (this.at < 0 || this.bit === 0x100) {
      this.w.byte(0);
      this.at = this.w.pos - 1;
      this.bit = 1;
    }
    if (on) this.w.buf[this.at] |= this.bit;
    this.bit <<= 1;
  }
}

class FlagReader {
  private readonly r: MusReader;
  private current = 0;
  private bit = 0x100;

  constructor(r: MusReader) {
    this.r = r;
  }

  flag(): boolean {
    if (this.bit === 0x100) {
      this.current = this.r.byte();
      this.bit = 1;
    }
    const on = (this.current & this.bit) !== 0;
    this.bit <<= 1;
    return on;
  }
}

function writeGstring(w: MusWriter, s: string): void {
  const bytes = utf8.encode(s);
  writeGvarint32(w, bytes.length);
  w.raw(bytes);
}

function readGstring(r: MusReader): string {
  const at = r.pos;
  const n = readGvarint32(r);
  if (n > r.remaining) r.fail('truncated', `string length ${n}`, at);
  return decodeUtf8(r.raw(n));
}

function readCount(r: MusReader): number {
  const at = r.pos;
  const n = readGvarint32(r);
  // Every entry takes at least one byte, or one flag bit (eight share a byte; one byte may already be open).
  if (n > (r.remaining + 1) * 8) r.fail('truncated', `count ${n}`, at);
  return n;
}

/** A present AnyMap value (after the MUS presence byte): flag(present), count, entries. */
export function writeAnyMap(w: MusWriter, map: AnyMap, field = 'value'): void {
  writeMapBody(w, new FlagWriter(w), map, field, 0);
}

export function readAnyMap(r: MusReader): AnyMap {
  return readMapBody(r, new FlagReader(r), 0) ?? Object.create(null);
}

function writeMapBody(w: MusWriter, flags: FlagWriter, map: AnyMap, field: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new PosbusEncodeError(field, 'nested too deep');
  flags.flag(true);
  const keys = Object.keys(map);
  writeGvarint32(w, keys.length);
  for (const key of keys) {
    writeGstring(w, key);
    writeAny(w, flags, map[key], `${field}.${key}`, depth + 1);
  }
}

function writeAny(w: MusWriter, flags: FlagWriter, v: AnyValue, field: string, depth: number): void {
  if (v === null || v === undefined) {
    flags.flag(false);
    return;
  }
  flags.flag(true);
  switch (typeof v) {
    case 'string':
      writeGstring(w, 'string');
      writeGstring(w, v);
      return;
    case 'boolean':
      writeGstring(w, 'bool');
      flags.flag(v);
      return;
    case 'number':
      writeGstring(w, 'float64');
      scratch.setFloat64(0, v, false);
      writeGvarint64(w, scratch.getBigUint64(0, true));
      return;
  }
  if (depth > MAX_DEPTH) throw new PosbusEncodeError(field, 'nested too deep');
  if (Array.isArray(v)) {
    writeGstring(w, '[]interface {}');
    flags.flag(true);
    writeGvarint32(w, v.length);
    for (let i = 0; i < v.length; i++) writeAny(w, flags, v[i], `${field}[${i}]`, depth + 1);
    return;
  }
  if (typeof v === 'object') {
    writeGstring(w, 'map[string]interface {}');
    writeMapBody(w, flags, v as AnyMap, field, depth);
    return;
  }
  throw new PosbusEncodeError(field, `cannot encode a ${typeof v} in an AnyMap`);
}

/** A map body; null when its presence flag is off (a nil map). */
function readMapBody(r: MusReader, flags: FlagReader, depth: number): AnyMap | null {
  if (depth > MAX_DEPTH) r.fail('too-deep');
  if (!flags.flag()) return null;
  const n = readCount(r);
  // No prototype: a key such as "__proto__" is data here, never an object's prototype.
  const map: AnyMap = Object.create(null);
  for (let i = 0; i < n; i++) {
    const key = readGstring(r);
    map[key] = readAny(r, flags, depth + 1);
  }
  return map;
}

function readAny(r: MusReader, flags: FlagReader, depth: number): AnyValue {
  if (!flags.flag()) return null;
  const at = r.pos;
  const typeName = readGstring(r);
  switch (typeName) {
    case 'string':
      return readGstring(r);
    case '*string':
      return flags.flag() ? readGstring(r) : null;
    case 'bool':
      return flags.flag();
    case 'float64':
      scratch.setBigUint64(0, readGvarint64(r), true);
      return scratch.getFloat64(0, false);
    case 'int':
      return readZigzag64(r, at);
    case '*int':
      return flags.flag() ? readZigzag64(r, at) : null;
    case 'int32': {
      const zz = readGvarint32(r);
      return (zz >>> 1) ^ -(zz & 1);
    }
    case 'map[string]interface {}':
      // Same depth as this value, as in writeAny: one nesting level counts once, not twice.
      return readMapBody(r, flags, depth);
    case '[]interface {}': {
      if (depth > MAX_DEPTH) r.fail('too-deep');
      if (!flags.flag()) return null;
      const n = readCount(r);
      const list: AnyValue[] = [];
      for (let i = 0; i < n; i++) list.push(readAny(r, flags, depth + 1));
      return list;
    }
    default:
      return r.fail('unknown-any-type', typeName, at);
  }
}

function readZigzag64(r: MusReader, at: number): number {
  const zz = readGvarint64(r);
  const v = zz & 1n ? -(zz >> 1n) - 1n : zz >> 1n;
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    r.fail('int-out-of-range', v.toString(), at);
  }
  return Number(v);
}

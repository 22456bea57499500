import { PosbusDecodeError } from './errors.ts';
import type { Vec3 } from './types.ts';
import { readUmid, type Umid } from './umid.ts';

const scratch = new DataView(new ArrayBuffer(8));
// ignoreBOM: a string that starts with U+FEFF is data; the default decoder would silently drop it.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Reads MUS primitives (SPEC.md §3) from `bytes[pos, end)`. Every failure is a PosbusDecodeError at the
 * offending byte, relative to the start of the frame. Lengths and counts are checked against the bytes
 * left before anything is allocated.
 */
export class MusReader {
  bytes: Uint8Array;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: ConstructorParameters<typeof PosbusDecodeError>[0], detail?: string, at = this.pos): never {
    throw new PosbusDecodeError(reason, at, detail);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('truncated');
    return this.bytes[this.pos++];
  }

  /** Unsigned LEB128 of at most 32 bits: the 5th byte may not exceed 0x0f. */
  uvarint32(): number {
    if (this.end - this.pos < 5) return this.uvarint32Checked();
    return this.uvarint32Unchecked();
  }

  /** uvarint32 when the caller has made sure that the five bytes a varint may take are there. */
  private uvarint32Unchecked(): number {
    const bytes = this.bytes;
    let pos = this.pos;
    let b = bytes[pos++];
    let v = b & 0x7f;
    if (b > 0x7f) {
      b = bytes[pos++];
      v |= (b & 0x7f) << 7;
      if (b > 0x7f) {
        b = bytes[pos++];
        v |= (b & 0x7f) << 14;
        if (b > 0x7f) {
          b = bytes[pos++];
          v |= (b & 0x7f) << 21;
          if (b > 0x7f) {
            b = bytes[pos++];
            if (b > 0x0f) this.fail('varint-overflow', undefined, pos - 1);
            v |= b << 28;
          }
        }
      }
    }
    this.pos = pos;
    return v >>> 0;
  }

  /** uvarint32 near the end of the input: every byte is bounds-checked. */
  private uvarint32Checked(): number {
    const start = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated', undefined, start);
      const b = this.bytes[this.pos++];
      if (shift === 28) {
        if (b > 0x0f) this.fail('varint-overflow', undefined, this.pos - 1);
        return (result | (b << 28)) >>> 0;
      }
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    return this.fail('varint-overflow');
  }

  /** A Go `int`: zigzag over a 64-bit LEB128. Values outside ±(2^53-1) are refused: JavaScript cannot hold them exactly. */
  int(): number {
    const start = this.pos;
    // Fast path: up to 4 bytes (28 bits) fit a small integer.
    let low = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated', undefined, start);
      const b = this.bytes[this.pos++];
      low |= (b & 0x7f) << shift;
      if (b < 0x80) return (low >>> 1) ^ -(low & 1);
    }
    let big = BigInt(low);
    for (let shift = 28n; ; shift += 7n) {
      if (this.pos >= this.end) this.fail('truncated', undefined, start);
      const b = this.bytes[this.pos++];
      if (shift === 63n) {
        if (b > 1) this.fail('varint-overflow', undefined, this.pos - 1);
        big |= BigInt(b) << 63n;
        break;
      }
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    const value = big & 1n ? -(big >> 1n) - 1n : big >> 1n;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.fail('int-out-of-range', value.toString(), start);
    }
    return Number(value);
  }

  /** A MUS length or element count: a zigzag int that must be ≥ 0 and, at `minElementSize` bytes per element, fit the bytes left. */
  length(minElementSize = 1): number {
    const start = this.pos;
    const n = this.int();
    if (n < 0) this.fail('negative-length', String(n), start);
    if (n * minElementSize > this.end - this.pos) this.fail('truncated', `length ${n}`, start);
    return n;
  }

  /** float32 whose bit pattern was byte-reversed and written as a 32-bit varint. */
  f32(): number {
    return f32FromBits(this.uvarint32());
  }

  /** Three f32s (x, y, z), with one bounds check for all three when 15 bytes are left. */
  vec3(): Vec3 {
    if (this.end - this.pos < 15) return { x: this.f32(), y: this.f32(), z: this.f32() };
    const x = f32FromBits(this.uvarint32Unchecked());
    const y = f32FromBits(this.uvarint32Unchecked());
    return { x, y, z: f32FromBits(this.uvarint32Unchecked()) };
  }

  bool(): boolean {
    const at = this.pos;
    const b = this.byte();
    if (b > 1) this.fail('bad-byte', `bool ${b}`, at);
    return b === 1;
  }

  /** The presence byte of an optional value. */
  present(): boolean {
    return this.bool();
  }

  /** Go int8: one raw two's-complement byte. */
  i8(): number {
    return (this.byte() << 24) >> 24;
  }

  umid(): Umid {
    if (this.end - this.pos < 16) this.fail('truncated', 'umid');
    const id = readUmid(this.bytes, this.pos);
    this.pos += 16;
    return id;
  }

  /** `n` raw bytes, as a view into the frame (no copy). */
  raw(n: number): Uint8Array {
    if (this.end - this.pos < n) this.fail('truncated');
    const view = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }

  string(): string {
    const n = this.length(); // checked against the bytes left
    const start = this.pos;
    this.pos = start + n;
    // Straight from the frame: a subarray() view per string costs more than decoding a short one.
    return utf8Slice(this.bytes, start, start + n);
  }

  /** A copy of the bytes, so that the decoded message does not pin the frame buffer. */
  bytesField(): Uint8Array {
    return this.raw(this.length()).slice();
  }
}

/** The float32 whose bit pattern, byte-reversed, is `v` (SPEC.md §3 `f32`). */
function f32FromBits(v: number): number {
  scratch.setUint32(0, v, true);
  return scratch.getFloat32(0, false);
}

/** UTF-8 to string; invalid sequences become U+FFFD (the original does not validate). */
export function decodeUtf8(view: Uint8Array): string {
  return utf8Slice(view, 0, view.length);
}

/** decodeUtf8 of `bytes[start, end)`. */
function utf8Slice(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 24) {
    // Short ASCII strings are most of what PosBus carries; skip TextDecoder's call overhead for them.
    let s = '';
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return utf8.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(start, end));
}

import { PosbusEncodeError } from './errors.ts';
import { writeUmid } from './umid.ts';

const scratch = new DataView(new ArrayBuffer(8));
const utf8 = new TextEncoder();

/**
 * Writes MUS primitives (SPEC.md §3) into one growable buffer. The codec keeps a single writer and reuses
 * its buffer across frames, so encoding allocates only the final, exactly sized frame.
 */
export class MusWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(initialSize = 4096) {
    this.buf = new Uint8Array(initialSize);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** A copy of everything written since the last reset. */
  take(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  uint32le(v: number): void {
    this.reserve(4);
    const buf = this.buf;
    buf[this.pos++] = v & 0xff;
    buf[this.pos++] = (v >>> 8) & 0xff;
    buf[this.pos++] = (v >>> 16) & 0xff;
    buf[this.pos++] = v >>> 24;
  }

  uvarint32(v: number): void {
    this.reserve(5);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** A Go `int`: zigzag, then LEB128. */
  int(v: number, field = 'int'): void {
    if ((v | 0) === v) {
      this.uvarint32(((v << 1) ^ (v >> 31)) >>> 0);
      return;
    }
    if (!Number.isSafeInteger(v)) throw new PosbusEncodeError(field, `not a safe integer: ${v}`);
    let zz = v >= 0 ? BigInt(v) << 1n : (-BigInt(v) << 1n) - 1n;
    this.reserve(10);
    while (zz > 0x7fn) {
      this.buf[this.pos++] = Number(zz & 0x7fn) | 0x80;
      zz >>= 7n;
    }
    this.buf[this.pos++] = Number(zz);
  }

  u32(v: number, field = 'u32'): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new PosbusEncodeError(field, `not a uint32: ${v}`);
    this.uvarint32(v);
  }

  f32(v: number): void {
    scratch.setFloat32(0, v, false);
    this.uvarint32(scratch.getUint32(0, true));
  }

  bool(v: boolean): void {
    this.byte(v ? 1 : 0);
  }

  i8(v: number, field = 'i8'): void {
    if (!Number.isInteger(v) || v < -128 || v > 127) throw new PosbusEncodeError(field, `not an int8: ${v}`);
    this.byte(v & 0xff);
  }

  umid(id: string, field = 'umid'): void {
    this.reserve(16);
    writeUmid(id, this.buf, this.pos, field);
    this.pos += 16;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  bytes(bytes: Uint8Array): void {
    this.int(bytes.length);
    this.raw(bytes);
  }

  string(s: string): void {
    const n = s.length;
    if (n < 64) {
      // One-byte length prefix if the string is ASCII, which PosBus strings nearly always are.
      this.reserve(1 + n);
      const buf = this.buf;
      const start = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + 1 + i] = c;
      }
      if (i === n) {
        buf[start] = n << 1;
        this.pos = start + 1 + n;
        return;
      }
    }
    this.utf8String(s);
  }

  private utf8String(s: string): void {
    const maxBytes = s.length * 3;
    const prefix = varintSize(maxBytes * 2);
    // At least 5: this.int() below reserves 5 bytes at `start`, and a growth there would copy only
    // [0, start) and lose the text already encoded after it.
    this.reserve(Math.max(prefix + maxBytes, 5));
    const start = this.pos;
    const { written } = utf8.encodeInto(s, this.buf.subarray(start + prefix, start + prefix + maxBytes));
    const actualPrefix = varintSize(written * 2);
    if (actualPrefix < prefix)
      this.buf.copyWithin(start + actualPrefix, start + prefix, start + prefix + written);
    this.int(written);
    this.pos = start + actualPrefix + written;
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

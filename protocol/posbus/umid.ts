import { PosbusEncodeError } from './errors.ts';

/** A UMID (UUID) as canonical lowercase `8-4-4-4-12` text: the form the original's JSON uses. */
export type Umid = string;

export const NIL_UMID: Umid = '00000000-0000-0000-0000-000000000000';

const HEX_PAIRS: string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
/** char code → nibble value, or -1; indexed by char codes below 128. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i;
  NIBBLE[97 + i] = 10 + i;
}
function nibble(charCode: number): number {
  return charCode < 128 ? NIBBLE[charCode] : -1;
}

/** Character offsets of the 16 byte pairs inside the 36-character text form. */
const PAIR_OFFSETS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/** Writes the 16 bytes of `id` into `out` at `offset`. Accepts either letter case; throws on anything else. */
export function writeUmid(id: string, out: Uint8Array, offset: number, field = 'umid'): void {
  if (
    id.length !== 36 ||
    id.charCodeAt(8) !== 45 ||
    id.charCodeAt(13) !== 45 ||
    id.charCodeAt(18) !== 45 ||
    id.charCodeAt(23) !== 45
  ) {
    throw new PosbusEncodeError(field, `not a UMID: ${JSON.stringify(id)}`);
  }
  for (let i = 0; i < 16; i++) {
    const at = PAIR_OFFSETS[i];
    const hi = nibble(id.charCodeAt(at));
    const lo = nibble(id.charCodeAt(at + 1));
    if (hi < 0 || lo < 0) throw new PosbusEncodeError(field, `not a UMID: ${JSON.stringify(id)}`);
    out[offset + i] = (hi << 4) | lo;
  }
}

/** Char codes of the high and of the low hex digit of each byte value. */
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  HEX_HI[b] = HEX_PAIRS[b].charCodeAt(0);
  HEX_LO[b] = HEX_PAIRS[b].charCodeAt(1);
}
const DASH = 45;

/** Reads 16 bytes at `offset` as canonical lowercase UMID text. */
export function readUmid(bytes: Uint8Array, offset: number): Umid {
  const b = bytes;
  const o = offset;
  const hi = HEX_HI;
  const lo = HEX_LO;
  // One call builds one flat string; a template or `+` chain would build a rope of ~20 pieces that
  // costs an allocation per piece now and a flattening copy when the id is first hashed or compared.
  // biome-ignore format: one line per group of the 8-4-4-4-12 form
  return String.fromCharCode(
    hi[b[o]], lo[b[o]], hi[b[o + 1]], lo[b[o + 1]], hi[b[o + 2]], lo[b[o + 2]], hi[b[o + 3]], lo[b[o + 3]], DASH,
    hi[b[o + 4]], lo[b[o + 4]], hi[b[o + 5]], lo[b[o + 5]], DASH,
    hi[b[o + 6]], lo[b[o + 6]], hi[b[o + 7]], lo[b[o + 7]], DASH,
    hi[b[o + 8]], lo[b[o + 8]], hi[b[o + 9]], lo[b[o + 9]], DASH,
    hi[b[o + 10]], lo[b[o + 10]], hi[b[o + 11]], lo[b[o + 11]], hi[b[o + 12]], lo[b[o + 12]],
    hi[b[o + 13]], lo[b[o + 13]], hi[b[o + 14]], lo[b[o + 14]], hi[b[o + 15]], lo[b[o + 15]],
  );
}

/** True when `id` is a UMID in the text form the codec accepts. */
export function isUmid(id: unknown): id is Umid {
  return (
    typeof id === 'string' &&
    /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(id)
  );
}

/** Lowercase hex of a byte array (no prefix). */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX_PAIRS[bytes[i]];
  return s;
}

/** Bytes of a hex string (no prefix, even length); undefined when it is not one. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(hex.charCodeAt(2 * i));
    const lo = nibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

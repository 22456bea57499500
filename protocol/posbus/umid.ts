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

/** Reads 16 bytes at `offset` as canonical lowercase UMID text. */
export function readUmid(bytes: Uint8Array, offset: number): Umid {
  const h = HEX_PAIRS;
  const b = bytes;
  const o = offset;
  return `${h[b[o]]}${h[b[o + 1]]}${h[b[o + 2]]}${h[b[o + 3]]}-${h[b[o + 4]]}${h[b[o + 5]]}-${h[b[o + 6]]}${h[b[o + 7]]}-${h[b[o + 8]]}${h[b[o + 9]]}-${h[b[o + 10]]}${h[b[o + 11]]}${h[b[o + 12]]}${h[b[o + 13]]}${h[b[o + 14]]}${h[b[o + 15]]}`;
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

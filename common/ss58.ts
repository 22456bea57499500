/**
 * SS58 (Substrate) addresses decoded to their account bytes, without loading @polkadot/util-crypto: that
 * library starts its WebAssembly crypto on import, which costs an idle node tens of MiB for a rule a
 * sign-in or a chain config needs once in a while. The format (Substrate's documentation): base58
 * (Bitcoin alphabet) of `prefix ‖ account ‖ checksum`, the prefix one byte below 64 or two bytes
 * (first byte 64–127), the checksum the first bytes of BLAKE2b-512("SS58PRE" ‖ prefix ‖ account): two for
 * 32- and 33-byte keys, one for the short account indices. A `0x` hex string is taken as the bytes it
 * spells. Imports nothing of ours.
 */
import { createHash } from 'node:crypto';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const DIGIT = new Map([...ALPHABET].map((c, i) => [c, i]));
/** Decoded lengths of valid addresses: prefix (1–2) + account (1, 2, 4, 8, 32, 33) + checksum (1–2). */
const ENCODED_LENGTHS = [3, 4, 6, 10, 35, 36, 37, 38];
const SS58_PREFIX = Buffer.from('SS58PRE');

/** True for `0x` followed by an even number of hex digits (or nothing), as @polkadot/util's isHex. */
export function isHexString(value: string): boolean {
  return (value === '0x' || /^0x[\da-fA-F]+$/.test(value)) && value.length % 2 === 0;
}

function base58Decode(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const char of text) {
    const digit = DIGIT.get(char);
    if (digit === undefined) throw new Error(`not base58: ${JSON.stringify(char)}`);
    let carry = digit;
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i] * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  // Each leading '1' is a leading zero byte.
  for (let i = 0; i < text.length && text[i] === '1'; i++) bytes.push(0);
  return Uint8Array.from(bytes.reverse());
}

/**
 * The account bytes of an SS58 address (or of a `0x` hex key); throws with the reason when the address
 * is malformed (length, checksum, reserved prefix).
 */
export function decodeSs58(address: string): Uint8Array {
  if (!address) throw new Error('empty address');
  if (isHexString(address)) return Uint8Array.from(Buffer.from(address.slice(2), 'hex'));
  const decoded = base58Decode(address);
  if (!ENCODED_LENGTHS.includes(decoded.length)) throw new Error('invalid decoded address length');
  const prefixLength = decoded[0] & 0b0100_0000 ? 2 : 1;
  const isKey = decoded.length === 34 + prefixLength || decoded.length === 35 + prefixLength;
  const end = decoded.length - (isKey ? 2 : 1);
  const hash = createHash('blake2b512').update(SS58_PREFIX).update(decoded.subarray(0, end)).digest();
  const checksumOk = isKey
    ? decoded[end] === hash[0] && decoded[end + 1] === hash[1]
    : decoded[end] === hash[0];
  // Prefixes 46 and 47 are reserved; a first byte of 128 or more is no prefix at all.
  const prefixOk = (decoded[0] & 0b1000_0000) === 0 && decoded[0] !== 46 && decoded[0] !== 47;
  if (!checksumOk || !prefixOk) throw new Error('invalid decoded address checksum');
  return decoded.slice(prefixLength, end);
}

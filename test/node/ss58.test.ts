/**
 * Our SS58 decoder (common/ss58.ts, written so an idle node need not load @polkadot/util-crypto) against
 * @polkadot's encoder: the same key bytes back under one- and two-byte prefixes and for short account
 * indices; a broken checksum, a reserved prefix, a bad length or a non-base58 character refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { describe, expect, it } from 'vitest';
import { decodeSs58, isHexString } from '../../common/ss58.ts';

describe('SS58 decoding', () => {
  it('gives back the bytes @polkadot encoded, and refuses what decodeAddress refuses, for every kind of prefix and account length', () => {
    let decoded = 0;
    for (const prefix of [0, 2, 42, 63, 64, 255, 1000, 16383]) {
      for (const length of [32, 33, 1, 2, 4, 8]) {
        const key = randomBytes(length);
        const address = encodeAddress(key, prefix);
        let theirs: Uint8Array | undefined;
        try {
          theirs = decodeAddress(address);
        } catch {
          // a combination SS58 does not allow (e.g. a short index under a two-byte prefix)
        }
        if (!theirs) {
          expect(() => decodeSs58(address), `${prefix}/${length}`).toThrow();
          continue;
        }
        decoded++;
        expect(Buffer.from(decodeSs58(address)).toString('hex'), `${prefix}/${length}`).toBe(
          key.toString('hex'),
        );
      }
    }
    expect(decoded).toBeGreaterThan(30);
  });

  it('takes a 0x hex key as its bytes, as decodeAddress does', () => {
    const hex = `0x${'ab'.repeat(32)}`;
    expect(decodeSs58(hex)).toEqual(decodeAddress(hex));
    expect(isHexString('0xabc')).toBe(false);
    expect(isHexString('0x')).toBe(true);
  });

  it('refuses what decodeAddress refuses', () => {
    const address = encodeAddress(randomBytes(32), 42);
    const last = address.at(-1) === 'a' ? 'b' : 'a';
    const broken = `${address.slice(0, -1)}${last}`;
    const bad = [broken, `${address}1`, address.slice(0, 20), `${address.slice(0, -1)}0`, 'hello world', ''];
    for (const input of bad) {
      expect(() => decodeSs58(input), input).toThrow();
      expect(() => decodeAddress(input), input).toThrow();
    }
    // Prefix 46 is reserved: refused although its checksum is right.
    const reserved = Buffer.concat([Buffer.from([46]), randomBytes(32)]);
    expect(() => decodeSs58(encodeWithPrefixByte(reserved))).toThrow(/checksum/);
  });
});

/** Base58 of raw bytes plus their SS58 checksum (for a prefix encodeAddress would refuse to write). */
function encodeWithPrefixByte(data: Buffer): string {
  const hash = createHash('blake2b512').update('SS58PRE').update(data).digest();
  const bytes = Buffer.concat([data, hash.subarray(0, 2)]);
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = alphabet[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

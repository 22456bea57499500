/**
 * `accountIdOf` (harvester/state.ts), the key of Substrate balances, now decodes SS58 with common/ss58.ts
 * instead of @polkadot/util-crypto (so that every node need not load it): the same ids as
 * `u8aToHex(decodeAddress(...))` gave, lowercase 20-byte hex kept, and nothing for what is not an address.
 */
import { randomBytes } from 'node:crypto';
import { u8aToHex } from '@polkadot/util';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { describe, expect, it } from 'vitest';
import { accountIdOf } from '../../harvester/state.ts';

describe('accountIdOf', () => {
  it("gives @polkadot's account id for SS58 addresses under any prefix", () => {
    for (const prefix of [0, 2, 42, 1000]) {
      const address = encodeAddress(randomBytes(32), prefix);
      expect(accountIdOf(address), address).toBe(u8aToHex(decodeAddress(address)));
    }
  });

  it('keeps a 20-byte hex account (lowercased) and gives nothing for malformed addresses', () => {
    expect(accountIdOf('0xABCDEF0123456789abcdef0123456789ABCDEF01')).toBe(
      '0xabcdef0123456789abcdef0123456789abcdef01',
    );
    const good = encodeAddress(randomBytes(32), 42);
    const broken = `${good.slice(0, -1)}${good.endsWith('1') ? '2' : '1'}`;
    for (const bad of [broken, '0x1234', 'not an address', '', '5Gr0OIl'])
      expect(accountIdOf(bad), bad).toBeUndefined();
  });
});

/**
 * Wallet user ids: UUIDv5 against RFC 9562's published vector, the wallet normalisation rules (EVM case,
 * one Substrate key under any SS58 prefix), and the user store giving wallet users derived ids and
 * guests random ones.
 */
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { normaliseWallet, USER_ID_NAMESPACE, uuidV5, walletUserId } from '../../common/user-id.ts';
import { startNode, type TestNode } from '../support/node.ts';

/** The refusal of a malformed wallet (a DomainError, answered 400 by the API). */
const INVALID_WALLET = expect.objectContaining({
  name: 'DomainError',
  kind: 'invalid',
  reason: 'invalid_wallet',
});

/** RFC 9562 Appendix A: the DNS namespace. */
const NAMESPACE_DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('UUIDv5', () => {
  it('matches the RFC 9562 test vector (DNS namespace, www.example.com)', () => {
    expect(uuidV5(NAMESPACE_DNS, 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('sets version 5 and variant 10 whatever the hash, and refuses a namespace that is not a UUID', () => {
    for (let i = 0; i < 200; i++) expect(uuidV5(USER_ID_NAMESPACE, `name ${i}`)).toMatch(V5);
    expect(() => uuidV5('not-a-uuid', 'x')).toThrow(TypeError);
  });
});

describe('wallet user ids', () => {
  let keyring: Keyring;
  beforeAll(async () => {
    await cryptoWaitReady();
    keyring = new Keyring({ type: 'sr25519' });
  });

  it('are pinned: the namespace and the rules never change under a network with data', () => {
    // Any change here renames every wallet user on every node: these values are the contract (the id
    // was checked against Python's uuid.uuid5).
    expect(USER_ID_NAMESPACE).toBe('b777fb24-006b-4e75-a42f-72f3149df318');
    expect(walletUserId(`0x${'ab'.repeat(20)}`)).toBe(uuidV5(USER_ID_NAMESPACE, `0x${'ab'.repeat(20)}`));
    expect(walletUserId(`0x${'ab'.repeat(20)}`)).toBe('0ae970d2-65fa-5df4-8439-4a3bedd09c90');
  });

  it('ignore the case of an EVM address', () => {
    const lower = '0x52908400098527886e0f7030069857d2e4169ee7';
    const checksummed = '0x52908400098527886E0F7030069857D2E4169EE7';
    expect(normaliseWallet(checksummed)).toBe(lower);
    expect(walletUserId(checksummed)).toBe(walletUserId(lower));
    expect(walletUserId(lower)).toMatch(V5);
  });

  it('make one Substrate key the same person under every SS58 prefix and as hex', () => {
    const pair = keyring.addFromUri('//Alice');
    const hex = u8aToHex(pair.publicKey);
    const forms = [0, 2, 42].map((prefix) => encodeAddress(pair.publicKey, prefix));
    expect(new Set(forms).size).toBe(3);
    for (const form of [...forms, hex, hex.toUpperCase().replace('0X', '0x')]) {
      expect(normaliseWallet(form)).toBe(hex);
      expect(walletUserId(form)).toBe(walletUserId(hex));
    }
    expect(walletUserId(hex)).not.toBe(walletUserId(encodeAddress(keyring.addFromUri('//Bob').publicKey)));
  });

  it('refuse what is not an address', () => {
    for (const bad of ['', '0x1234', 'hello', `0x${'zz'.repeat(20)}`, `0x${'ab'.repeat(33)}`]) {
      expect(() => walletUserId(bad), bad).toThrow(INVALID_WALLET);
    }
    // A good SS58 string with a broken checksum.
    const address = encodeAddress(keyring.addFromUri('//Alice').publicKey, 0);
    const broken = `${address.slice(0, -1)}${address.endsWith('a') ? 'b' : 'a'}`;
    expect(() => walletUserId(broken)).toThrow(INVALID_WALLET);
  });
});

describe('user store ids', () => {
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.cleanup();
    node = undefined;
  });

  it('gives a wallet user the derived id, keeps it when a wallet is attached, and guests random ids', async () => {
    node = await startNode();
    const { users } = node.node;
    const first = `0x${'c1'.repeat(20)}`;
    const second = `0x${'c2'.repeat(20)}`;
    const { user, created } = await users.walletUser(first.toUpperCase().replace('0X', '0x'));
    expect(created).toBe(true);
    expect(user).toMatchObject({ id: walletUserId(first), isGuest: false, wallets: [first] });

    const attached = await users.attachWallet(user.id, second);
    expect(attached.id).toBe(walletUserId(first));
    expect((await users.walletUser(second)).user.id).toBe(walletUserId(first));
    expect(await users.get(walletUserId(second))).toBeUndefined();

    const guests = await Promise.all([users.createGuest(), users.createGuest()]);
    for (const g of guests) expect(g).toMatchObject({ id: expect.stringMatching(V4), isGuest: true });
    expect(guests[0].id).not.toBe(guests[1].id);
  });

  it('restores a missing wallet index entry instead of overwriting the wallet own user', async () => {
    node = await startNode();
    const { users, db } = node.node;
    const wallet = `0x${'d1'.repeat(20)}`;
    const { user } = await users.walletUser(wallet);
    await users.updateProfile(user.id, { name: 'Keeper', profile: { bio: 'kept' } });
    await db.sublevel<string>('wallets').del(wallet);
    const again = await users.walletUser(wallet);
    expect(again.created).toBe(false);
    expect(again.user).toMatchObject({ id: user.id, name: 'Keeper', profile: { bio: 'kept' } });
    expect(await db.sublevel<string>('wallets').get(wallet)).toBe(user.id);
  });
});

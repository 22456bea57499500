/**
 * Sign-in against a real node: wallet challenges signed by real Ethereum and sr25519 keys, the refusals,
 * attaching wallets, the auth rate limit, and tokens as the REST API and the PosBus handshake see them.
 */
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, encodeAddress, mnemonicGenerate } from '@polkadot/util-crypto';
import { decode, sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_ISSUER } from '../../node/auth/tokens.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { connect } from '../../protocol/client/index.ts';
import { call, type ErrorBody, reason } from '../support/http.ts';
import { guest, sleep, startNode, type TestNode } from '../support/node.ts';
import {
  challenge,
  ethSigner,
  me,
  newEthAccount,
  nonceFor,
  postToken,
  signIn,
  sr25519Signer,
  tokenFor,
} from '../support/sign-in.ts';

describe('wallet sign-in', () => {
  let node: TestNode;
  let keyring: Keyring;

  beforeAll(async () => {
    await cryptoWaitReady();
    keyring = new Keyring({ type: 'sr25519' });
    node = await startNode({ authRequestsPerMinute: 100_000 });
  });
  afterAll(() => node.cleanup());

  it('signs in with an Ethereum account and shows its wallet on /users/me', async () => {
    const account = newEthAccount();
    const text = await challenge(node, account.address);
    expect(text).toMatch(
      /^Please sign this message with the private key for address 0x[0-9a-f]{40} to prove/,
    );
    const res = await postToken(
      node,
      account.address,
      await account.signMessage({ message: text }),
      'ethereum',
    );
    expect(res.status).toBe(200);
    const user = await me(node, res.body.token);
    expect(user).toMatchObject({
      wallet: account.address.toLowerCase(),
      isGuest: false,
      userTypeId: '00000000-0000-0000-0000-000000000006',
    });
    expect(user.name).toMatch(/^Member_\d{7}$/);
    // The same account again: the same user, not a new one.
    expect((await me(node, await tokenFor(node, account.address, ethSigner(account), 'ethereum'))).id).toBe(
      user.id,
    );
  });

  it('treats Ethereum addresses case-insensitively', async () => {
    const account = newEthAccount();
    const lower = account.address.toLowerCase();
    const checksummed = await me(node, await tokenFor(node, account.address, ethSigner(account), 'ethereum'));
    const lowercase = await me(node, await tokenFor(node, lower, ethSigner(account), 'ethereum'));
    expect(lowercase.id).toBe(checksummed.id);
    // A challenge asked for in one case is the challenge of the other, and the network comes from the shape.
    const mixed = await signIn(node, account.address, ethSigner(account), undefined, lower);
    expect(mixed.status).toBe(200);
    expect((await me(node, mixed.body.token)).id).toBe(checksummed.id);
  });

  it('signs in with an sr25519 key given as a public key or as a Kusama or Polkadot SS58 address', async () => {
    const alice = keyring.addFromUri('//Alice');
    const signer = sr25519Signer(alice);
    const publicKey = u8aToHex(alice.publicKey);
    const byKey = await me(node, await tokenFor(node, publicKey, signer));
    expect(byKey.wallet).toBe(publicKey);
    const kusama = encodeAddress(alice.publicKey, 2);
    const polkadot = encodeAddress(alice.publicKey, 0);
    expect(kusama).not.toBe(polkadot);
    expect((await me(node, await tokenFor(node, kusama, signer, 'kusama'))).id).toBe(byKey.id);
    expect((await me(node, await tokenFor(node, polkadot, signer, 'polkadot'))).id).toBe(byKey.id);
    // The challenge asked for by address and signed in by key (and the other way round) is one challenge.
    const crossed = await signIn(node, publicKey, signer, undefined, kusama);
    expect(crossed.status).toBe(200);
    expect((await me(node, crossed.body.token)).id).toBe(byKey.id);

    const other = keyring.addFromUri(mnemonicGenerate());
    const stranger = await me(node, await tokenFor(node, other.address, sr25519Signer(other)));
    expect(stranger.id).not.toBe(byKey.id);
    expect(stranger.wallet).toBe(u8aToHex(other.publicKey));
  });

  it('refuses a challenge signed twice (404 challenge_not_found), also when both arrive at once', async () => {
    const account = newEthAccount();
    const signature = await account.signMessage({ message: await challenge(node, account.address) });
    expect((await postToken(node, account.address, signature)).status).toBe(200);
    const again = await postToken(node, account.address, signature);
    expect(again.status).toBe(404);
    expect(reason(again)).toBe('challenge_not_found');

    const pair = keyring.addFromUri(mnemonicGenerate());
    const sr = await sr25519Signer(pair)(await challenge(node, pair.address));
    const racing = await Promise.all([1, 2, 3].map(() => postToken(node, pair.address, sr)));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 404, 404]);
  });

  it('refuses a signature by another key (403 invalid_signature) and keeps the challenge', async () => {
    const account = newEthAccount();
    const text = await challenge(node, account.address);
    const forged = await postToken(
      node,
      account.address,
      await newEthAccount().signMessage({ message: text }),
    );
    expect(forged.status).toBe(403);
    expect(reason(forged)).toBe('invalid_signature');
    // The owner can still use the challenge: a failed attempt does not burn it.
    expect(
      (await postToken(node, account.address, await account.signMessage({ message: text }))).status,
    ).toBe(200);

    const alice = keyring.addFromUri('//Alice');
    const bobSigned = await signIn(node, alice.address, sr25519Signer(keyring.addFromUri('//Bob')));
    expect(bobSigned.status).toBe(403);
    expect(reason(bobSigned)).toBe('invalid_signature');
    // Signed by the right key, but over another text.
    await challenge(node, alice.address);
    const otherText = await postToken(node, alice.address, await sr25519Signer(alice)('something else'));
    expect(otherText.status).toBe(403);
  });

  it('refuses a malformed signature (400 signature_validation_failed)', async () => {
    const account = newEthAccount();
    await challenge(node, account.address);
    for (const signature of ['nonsense', '0x1234', `0x${'ff'.repeat(65)}`, `0x${'zz'.repeat(65)}`]) {
      const res = await postToken(node, account.address, signature, 'ethereum');
      expect(res.status, signature).toBe(400);
      expect(reason(res)).toBe('signature_validation_failed');
    }
    const alice = keyring.addFromUri('//Alice');
    await challenge(node, alice.address);
    const res = await postToken(node, alice.address, `0x${'ab'.repeat(10)}`);
    expect(res.status).toBe(400);
    expect(reason(res)).toBe('signature_validation_failed');
  });

  it('refuses a sign-in without a challenge (404)', async () => {
    const account = newEthAccount();
    const signature = await account.signMessage({ message: 'a challenge the node never issued' });
    const res = await postToken(node, account.address, signature);
    expect(res.status).toBe(404);
    expect(reason(res)).toBe('challenge_not_found');
  });

  it('refuses malformed wallets (400)', async () => {
    for (const wallet of [
      'nonsense',
      '0x1234',
      `0x${'g'.repeat(40)}`,
      '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ',
    ]) {
      const res = await call(node, 'GET', `/api/v4/auth/challenge?wallet=${wallet}`);
      expect(res.status, wallet).toBe(400);
      expect(reason(res)).toBe('invalid_wallet');
    }
    expect((await call(node, 'GET', '/api/v4/auth/challenge')).status).toBe(400);
    const token = await postToken(node, 'nonsense', `0x${'ab'.repeat(64)}`);
    expect(token.status).toBe(400);
    expect(reason(token)).toBe('signature_validation_failed');
    const noWallet = await call(node, 'POST', '/api/v4/auth/token', { body: { signedChallenge: '0x00' } });
    expect(noWallet.status).toBe(400);
    expect(reason(noWallet)).toBe('invalid_request');
  });

  describe('attach-account', () => {
    const attach = (token: string, wallet: string, signedChallenge: string, network?: string) =>
      call<{ wallet: string[] }>(node, 'POST', '/api/v4/users/me/attach-account', {
        token,
        body: { wallet, signedChallenge, nonce: nonceFor(wallet), ...(network ? { network } : {}) },
      });

    it('adds a second wallet to a wallet user; either wallet then signs in to that user', async () => {
      const account = newEthAccount();
      const token = await tokenFor(node, account.address, ethSigner(account));
      const pair = keyring.addFromUri(mnemonicGenerate());
      const signature = await sr25519Signer(pair)(await challenge(node, pair.address));
      const res = await attach(token, pair.address, signature);
      expect(res.status).toBe(202);
      const publicKey = u8aToHex(pair.publicKey);
      expect(res.body.wallet).toEqual([account.address.toLowerCase(), publicKey]);
      const user = await me(node, token);
      expect(user.wallet).toBe(account.address.toLowerCase());
      expect((await me(node, await tokenFor(node, publicKey, sr25519Signer(pair)))).id).toBe(user.id);
      // The attach used the challenge up.
      expect((await attach(token, pair.address, signature)).status).toBe(404);
    });

    it('refuses a wallet that already belongs to a user (400 wallet_already_exists)', async () => {
      const a = newEthAccount();
      const b = newEthAccount();
      const tokenA = await tokenFor(node, a.address, ethSigner(a));
      await tokenFor(node, b.address, ethSigner(b));
      const taken = await attach(
        tokenA,
        b.address,
        await b.signMessage({ message: await challenge(node, b.address) }),
      );
      expect(taken.status).toBe(400);
      expect(reason(taken)).toBe('wallet_already_exists');
      const own = await attach(
        tokenA,
        a.address,
        await a.signMessage({ message: await challenge(node, a.address) }),
      );
      expect(own.status).toBe(400);
      expect(reason(own)).toBe('wallet_already_exists');
    });

    it('refuses guests (403), callers without a token (401) and bad proofs', async () => {
      const visitor = await guest(node);
      const account = newEthAccount();
      const text = await challenge(node, account.address);
      const signature = await account.signMessage({ message: text });
      const res = await attach(visitor.token, account.address, signature);
      expect(res.status).toBe(403);
      const anonymous = await call(node, 'POST', '/api/v4/users/me/attach-account', {
        body: { wallet: account.address, signedChallenge: signature, nonce: nonceFor(account.address) },
      });
      expect(anonymous.status).toBe(401);
      const owner = newEthAccount();
      const ownerToken = await tokenFor(node, owner.address, ethSigner(owner));
      const forged = await attach(
        ownerToken,
        account.address,
        await newEthAccount().signMessage({ message: text }),
      );
      expect(forged.status).toBe(403);
      expect(reason(forged)).toBe('invalid_signature');
      // Neither refusal used the challenge up.
      expect((await attach(ownerToken, account.address, signature)).status).toBe(202);
    });
  });

  describe('tokens', () => {
    it("names the guest's user, which the PosBus handshake accepts for that user only", async () => {
      const visitor = await guest(node);
      expect(decode(visitor.token).payload).toMatchObject({ sub: visitor.id, iss: TOKEN_ISSUER });
      const client = await connect(node.wsUrl, {
        token: visitor.token,
        userId: visitor.id,
        reconnect: false,
      });
      try {
        expect((await client.teleport(DEFAULT_WORLD_ID)).id).toBe(DEFAULT_WORLD_ID);
      } finally {
        await client.close();
      }
      const other = await guest(node);
      const impostor = await connect(node.wsUrl, {
        token: visitor.token,
        userId: other.id,
        reconnect: false,
      });
      const closed = await impostor.next('close', { timeoutMs: 5000 });
      expect(closed.code).toBe(1008);
    });

    it('refuses a token with a bad signature, a wrong issuer or none (401)', async () => {
      const visitor = await guest(node);
      const [header, payload] = visitor.token.split('.');
      const otherSignature = (await guest(node)).token.split('.')[2];
      const iat = Math.floor(Date.now() / 1000);
      const bad = [
        `${header}.${payload}.${otherSignature}`,
        await sign({ sub: visitor.id, iss: TOKEN_ISSUER, iat, exp: iat + 60 }, 'x'.repeat(40), 'HS256'),
        `${visitor.token}x`,
        'not-a-jwt',
      ];
      for (const token of bad) {
        const res = await call(node, 'GET', '/api/v4/users/me', { token });
        expect(res.status, token).toBe(401);
        expect(reason(res)).toBe('failed_to_verify_access_token');
      }
      expect((await call(node, 'GET', '/api/v4/users/me')).status).toBe(401);
      expect((await me(node, visitor.token)).id).toBe(visitor.id);
    });
  });
});

describe('auth limits', () => {
  it('lets a challenge expire (404 challenge_not_found)', async () => {
    const node = await startNode({ challengeTtlMs: 100 });
    try {
      const account = newEthAccount();
      const text = await challenge(node, account.address);
      await sleep(250);
      const res = await postToken(node, account.address, await account.signMessage({ message: text }));
      expect(res.status).toBe(404);
      expect(reason(res)).toBe('challenge_not_found');
      expect((res.body as unknown as ErrorBody).error.message).toMatch(/expired/);
    } finally {
      await node.cleanup();
    }
  });

  it('rate-limits the auth routes per client address (429) and leaves the others alone', async () => {
    const node = await startNode({ authRequestsPerMinute: 3 });
    try {
      const visitor = await guest(node);
      const account = newEthAccount();
      expect((await call(node, 'GET', `/api/v4/auth/challenge?wallet=${account.address}`)).status).toBe(200);
      expect((await call(node, 'POST', '/api/v4/auth/guest-token')).status).toBe(200);
      const limited = await call(node, 'GET', `/api/v4/auth/challenge?wallet=${account.address}`);
      expect(limited.status).toBe(429);
      expect(reason(limited)).toBe('rate_limited');
      expect((await call(node, 'POST', '/api/v4/auth/guest-token')).status).toBe(429);
      expect((await call(node, 'GET', '/api/v4/users/me', { token: visitor.token })).status).toBe(200);
    } finally {
      await node.cleanup();
    }
  });
});

/**
 * Sign-in challenges bound to the request that asked for them: a nonce names each one, several of a
 * wallet coexist (bounded per wallet and per node), each is used once.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChallengeStore } from '../../node/auth/challenges.ts';
import { call, reason } from '../support/http.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { challenge, newEthAccount, nonceFor, nonces, postToken, walletKey } from '../support/sign-in.ts';

describe('challenges on a node', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startNode({ authRequestsPerMinute: 100_000 });
  });
  afterAll(() => node.cleanup());

  it("binds a challenge to its asker: asking for someone's wallet does not void their challenge", async () => {
    const account = newEthAccount();
    const mine = await challenge(node, account.address);
    const myNonce = nonceFor(account.address);
    // Someone else asks for a challenge for the same wallet, several times.
    for (let i = 0; i < 3; i++) await challenge(node, account.address);
    nonces.set(walletKey(account.address), myNonce);
    const res = await postToken(node, account.address, await account.signMessage({ message: mine }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Single-use, even though the wallet has other challenges outstanding.
    const again = await postToken(node, account.address, await account.signMessage({ message: mine }));
    expect(again.status).toBe(404);
    expect(reason(again)).toBe('challenge_not_found');
  });

  it("refuses a wrong nonce with the original's 404 challenge_not_found, and a missing one (400)", async () => {
    const account = newEthAccount();
    const other = newEthAccount();
    const text = await challenge(node, account.address);
    await challenge(node, other.address);
    const signature = await account.signMessage({ message: text });
    for (const nonce of [randomUUID(), nonceFor(other.address)]) {
      const res = await call(node, 'POST', '/api/v4/auth/token', {
        body: { wallet: account.address, signedChallenge: signature, nonce },
      });
      expect(res.status, nonce).toBe(404);
      expect(res.body).toEqual({
        error: { reason: 'challenge_not_found', message: 'no challenge with this nonce for this wallet' },
      });
    }
    const missing = await call(node, 'POST', '/api/v4/auth/token', {
      body: { wallet: account.address, signedChallenge: signature },
    });
    expect(missing.status).toBe(400);
    expect(reason(missing)).toBe('invalid_request');
    // None of that used the challenge up.
    expect((await postToken(node, account.address, signature)).status).toBe(200);
  });
});

describe('ChallengeStore', () => {
  it('keeps several challenges of a wallet (any case), each usable once, and expires them', () => {
    const store = new ChallengeStore(1000);
    const first = store.issue('0xAbC', '10.0.0.1', 0);
    const second = store.issue('0xabc', '10.0.0.2', 1);
    expect(first.nonce).not.toBe(second.nonce);
    expect(store.peek('0xABC', first.nonce, 2)).toEqual({ text: first.text });
    expect(store.consume('0xabc', first.nonce)).toBe(true);
    expect(store.consume('0xabc', first.nonce)).toBe(false);
    // A nonce names one wallet's challenge only.
    expect(store.peek('0xdef', second.nonce, 2)).toEqual({ error: 'missing' });
    expect(store.consume('0xdef', second.nonce)).toBe(false);
    expect(store.peek('0xABC', second.nonce, 1001)).toEqual({ error: 'expired' });
    // Issuing sweeps what expired.
    store.issue('0xabc', '10.0.0.1', 0);
    store.issue('0xdef', '10.0.0.1', 5000);
    expect(store.size).toBe(1);
  });

  it('bounds the challenges of a wallet (a client replaces its own oldest) and of the whole node', () => {
    const store = new ChallengeStore(1000, { maxPerWallet: 2, maxPending: 3 });
    const mine = store.issue('0xabc', 'me', 0);
    store.issue('0xabc', 'other', 0);
    // Full: a third client is refused, and nobody's challenge is dropped for it.
    expect(() => store.issue('0xabc', 'third', 0)).toThrow(/outstanding challenges/);
    expect(store.peek('0xabc', mine.nonce, 1)).toEqual({ text: mine.text });
    // The same client again: its own oldest challenge makes room.
    const again = store.issue('0xabc', 'me', 0);
    expect(store.peek('0xabc', mine.nonce, 1)).toEqual({ error: 'missing' });
    // The whole node full of live challenges: the oldest goes.
    store.issue('0xdef', 'me', 0);
    store.issue('0x123', 'me', 0);
    expect(store.size).toBe(3);
    expect(store.peek('0xabc', again.nonce, 1)).toEqual({ text: again.text });
  });
});

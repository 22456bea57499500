/**
 * Wallet sign-in as a client does it: ask for a challenge (remembering its nonce), sign it with a real
 * Ethereum or sr25519 key, send signature and nonce for a token.
 */
import { randomUUID } from 'node:crypto';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { expect } from 'vitest';
import type { UserDto } from '../../api/dto.ts';
import { canonicalWallet, networkOf } from '../../node/auth/wallet-signatures.ts';
import { call, type HttpTarget, type Reply } from './http.ts';

export type Signer = (challenge: string) => Promise<string>;

export const ethSigner =
  (account: PrivateKeyAccount): Signer =>
  (message) =>
    account.signMessage({ message });
/** What a browser extension's signRaw produces: sr25519 over `<Bytes>challenge</Bytes>`. */
export const sr25519Signer =
  (pair: KeyringPair): Signer =>
  async (challenge) =>
    u8aToHex(pair.sign(u8aWrapBytes(challenge)));

export const newEthAccount = () => privateKeyToAccount(generatePrivateKey());

/** The nonce of each wallet's latest challenge (by canonical wallet, so that any form of it finds it). */
export const nonces = new Map<string, string>();
export const walletKey = (wallet: string) => {
  try {
    return canonicalWallet(wallet, networkOf(wallet));
  } catch {
    return wallet;
  }
};
/** The nonce a client would send for `wallet`: its latest challenge's, or one the node never issued. */
export const nonceFor = (wallet: string) => nonces.get(walletKey(wallet)) ?? randomUUID();

export async function challenge(node: HttpTarget, wallet: string): Promise<string> {
  const res = await call<{ challenge: string; nonce: string }>(
    node,
    'GET',
    `/api/v4/auth/challenge?wallet=${encodeURIComponent(wallet)}`,
  );
  expect(res.status).toBe(200);
  expect(res.body.challenge.endsWith(` ${res.body.nonce}`)).toBe(true);
  nonces.set(walletKey(wallet), res.body.nonce);
  return res.body.challenge;
}

export function postToken(node: HttpTarget, wallet: string, signedChallenge: string, network?: string) {
  return call<{ token: string }>(node, 'POST', '/api/v4/auth/token', {
    body: { wallet, signedChallenge, nonce: nonceFor(wallet), ...(network ? { network } : {}) },
  });
}

/** Challenge, signature, token; `challengeWallet` is the form the challenge is asked for (default `wallet`). */
export async function signIn(
  node: HttpTarget,
  wallet: string,
  signer: Signer,
  network?: string,
  challengeWallet = wallet,
): Promise<Reply<{ token: string }>> {
  const text = await challenge(node, challengeWallet);
  return postToken(node, wallet, await signer(text), network);
}

export async function tokenFor(
  node: HttpTarget,
  wallet: string,
  signer: Signer,
  network?: string,
): Promise<string> {
  const res = await signIn(node, wallet, signer, network);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.token;
}

export async function me(node: HttpTarget, token: string): Promise<UserDto> {
  const res = await call<UserDto>(node, 'GET', '/api/v4/users/me', { token });
  expect(res.status).toBe(200);
  return res.body;
}

/** Signs in and returns the token with the signed-in user. */
export async function signInAs(
  node: HttpTarget,
  wallet: string,
  signer: Signer,
): Promise<{ token: string; me: UserDto }> {
  const token = await tokenFor(node, wallet, signer);
  return { token, me: await me(node, token) };
}

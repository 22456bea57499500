/** Wallet sign-in over HTTP as a browser does it: challenge, signature, token, then who the token is. */
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex, u8aWrapBytes } from '@polkadot/util';
import type { PrivateKeyAccount } from 'viem/accounts';
import { expect } from 'vitest';
import type { UserDto } from '../../api/dto.ts';
import { call } from './http.ts';
import type { TestNode } from './node.ts';

export type Signer = (challenge: string) => Promise<string>;

/** EIP-191 personal_sign, what MetaMask does. */
export const ethSigner =
  (account: PrivateKeyAccount): Signer =>
  (message) =>
    account.signMessage({ message });

/** What a browser extension's signRaw produces: sr25519 over `<Bytes>challenge</Bytes>`. */
export const sr25519Signer =
  (pair: KeyringPair): Signer =>
  async (challenge) =>
    u8aToHex(pair.sign(u8aWrapBytes(challenge)));

/** Signs in with `wallet` (any accepted form) and returns the token and the signed-in user. */
export async function signIn(
  node: TestNode,
  wallet: string,
  signer: Signer,
): Promise<{ token: string; me: UserDto }> {
  const challenge = await call<{ challenge: string }>(
    node,
    'GET',
    `/api/v4/auth/challenge?wallet=${encodeURIComponent(wallet)}`,
  );
  expect(challenge.status, JSON.stringify(challenge.body)).toBe(200);
  const token = await call<{ token: string }>(node, 'POST', '/api/v4/auth/token', {
    body: { wallet, signedChallenge: await signer(challenge.body.challenge) },
  });
  expect(token.status, JSON.stringify(token.body)).toBe(200);
  const me = await call<UserDto>(node, 'GET', '/api/v4/users/me', { token: token.body.token });
  expect(me.status).toBe(200);
  return { token: token.body.token, me: me.body };
}

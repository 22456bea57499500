/**
 * Admin sign-in with an injected browser wallet (EIP-1193, `window.ethereum`): the node's own
 * challenge → personal_sign → token flow. The token lives in sessionStorage, gone with the tab.
 */
import { getJson, postJson } from './http.ts';

interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

const KEY = 'odyssey-admin-token';

export function injectedWallet(): Eip1193 | undefined {
  return (window as { ethereum?: Eip1193 }).ethereum;
}

export const savedToken = (): string | undefined => sessionStorage.getItem(KEY) ?? undefined;
export const forgetToken = (): void => sessionStorage.removeItem(KEY);

export async function signIn(wallet: Eip1193): Promise<string> {
  const accounts = (await wallet.request({ method: 'eth_requestAccounts' })) as string[];
  const account = accounts[0];
  if (!account) throw new Error('the wallet gave no account');
  const { challenge, nonce } = await getJson<{ challenge: string; nonce: string }>(
    `/api/v4/auth/challenge?wallet=${encodeURIComponent(account)}`,
  );
  const hex = `0x${[...new TextEncoder().encode(challenge)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  const signedChallenge = (await wallet.request({
    method: 'personal_sign',
    params: [hex, account],
  })) as string;
  const { token } = await postJson<{ token: string }>('/api/v4/auth/token', {
    wallet: account,
    signedChallenge,
    nonce,
  });
  sessionStorage.setItem(KEY, token);
  return token;
}

/**
 * What the examples share: command-line options, a guest or wallet sign-in over REST, and a stop signal
 * that fires after `--duration` seconds or on Ctrl-C, so every example ends by itself.
 */
import { parseArgs } from 'node:util';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

export interface ExampleOptions {
  /** The node's base URL (http://…); PosBus is at `${url}/posbus`. */
  url: string;
  /** Seconds before the example stops. */
  durationSeconds: number;
  /** Aborted when the example should stop. */
  signal: AbortSignal;
}

export function options(defaultSeconds: number): ExampleOptions {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: process.env.ODYSSEY_URL ?? 'http://127.0.0.1:4000' },
      duration: { type: 'string', default: String(defaultSeconds) },
    },
  });
  const durationSeconds = Number(values.duration);
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) {
    throw new Error(`--duration must be a number of seconds above 0, got ${values.duration}`);
  }
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), durationSeconds * 1000);
  process.once('SIGINT', () => stop.abort());
  stop.signal.addEventListener('abort', () => clearTimeout(timer));
  return { url: values.url.replace(/\/$/, ''), durationSeconds, signal: stop.signal };
}

export interface Identity {
  id: string;
  name: string;
  token: string;
}

async function post<T>(url: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json as T;
}

export { post };

/** A guest: a user id and a token, no wallet. Guests can walk, wave and look, not build. */
export function guest(url: string): Promise<Identity> {
  return post<Identity>(`${url}/api/v4/auth/guest-token`, {});
}

/** A signed-in user with a fresh Ethereum wallet: challenge, signature, token. Such users may create worlds. */
export async function walletUser(url: string): Promise<Identity & { wallet: string }> {
  const account = privateKeyToAccount(generatePrivateKey());
  const res = await fetch(`${url}/api/v4/auth/challenge?wallet=${account.address}`);
  const { challenge, nonce } = (await res.json()) as { challenge: string; nonce: string };
  const signedChallenge = await account.signMessage({ message: challenge });
  const { token } = await post<{ token: string }>(`${url}/api/v4/auth/token`, {
    wallet: account.address,
    signedChallenge,
    nonce,
  });
  const me = await fetch(`${url}/api/v4/users/me`, { headers: { Authorization: `Bearer ${token}` } });
  const user = (await me.json()) as { id: string; name: string };
  return { id: user.id, name: user.name, token, wallet: account.address };
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

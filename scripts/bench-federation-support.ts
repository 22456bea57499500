/**
 * Helpers of scripts/bench-federation.ts: wallet sign-in and REST calls over HTTP, guests on PosBus through
 * the client SDK, a paced 10 Hz sender, RSS sampling from /proc, latency statistics, and the anvil chain of
 * phase 5. Node processes
 * come from test/support/federation.ts, so the bench starts nodes exactly as the federation tests do.
 */
import { readFileSync } from 'node:fs';
import type { PrivateKeyAccount } from 'viem/accounts';
import { connect, type PosbusClient } from '../protocol/client/index.ts';
import {
  type Anvil,
  accounts,
  type Client,
  type Deployed,
  deployAll,
  send,
  startAnvil,
  testClient,
} from '../test/harvester/chain.ts';
import { call, type HttpTarget } from '../test/support/http.ts';

export const API = '/api/v4';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A REST call that must answer `expect`; anything else stops the bench with the node's answer. */
export async function api<T>(
  node: HttpTarget,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; expect?: number } = {},
): Promise<T> {
  const res = await call<T>(node, method, `${API}${path}`, opts);
  if (res.status !== (opts.expect ?? 200)) {
    throw new Error(`${method} ${path} on ${node.url}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

/** Wallet sign-in as a client does it (test/support/sign-in.ts without vitest): challenge, signature, token. */
export async function signIn(node: HttpTarget, account: PrivateKeyAccount): Promise<string> {
  const wallet = account.address;
  const { challenge, nonce } = await api<{ challenge: string; nonce: string }>(
    node,
    'GET',
    `/auth/challenge?wallet=${encodeURIComponent(wallet)}`,
  );
  const signedChallenge = await account.signMessage({ message: challenge });
  const { token } = await api<{ token: string }>(node, 'POST', '/auth/token', {
    body: { wallet, signedChallenge, nonce },
  });
  return token;
}

export interface Guest {
  id: string;
  client: PosbusClient;
}

/** `n` guests of `node` connected with the SDK and in `worldId`, `concurrency` at a time. */
export async function guestsIn(
  node: HttpTarget & { wsUrl: string },
  worldId: string,
  n: number,
  concurrency = 8,
): Promise<Guest[]> {
  const out: Guest[] = [];
  let next = 0;
  const one = async () => {
    while (next < n) {
      next++;
      const g = await api<{ id: string; token: string }>(node, 'POST', '/auth/guest-token', { body: {} });
      const client = await connect(node.wsUrl, { token: g.token, userId: g.id, reconnect: false });
      out.push({ id: g.id, client });
      await client.teleport(worldId, { timeoutMs: 20_000 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, one));
  return out;
}

export async function closeAll(guests: Guest[]): Promise<void> {
  await Promise.all(guests.map((g) => g.client.close().catch(() => {})));
}

/**
 * Calls `send(i, k)` for sender i's k-th move at t0 + k·period + i·period/n: evenly spread over the period
 * like real clients, from one timer. A slot more than a period late is skipped (and counted), never bunched.
 */
export function paced(
  n: number,
  periodMs: number,
  send: (i: number, k: number) => void,
): { stop: () => void; skipped: () => number } {
  const t0 = performance.now();
  const slotMs = periodMs / n;
  let done = 0;
  let skipped = 0;
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / slotMs) + 1;
    if (due - done > n) {
      skipped += due - n - done;
      done = due - n;
    }
    for (; done < due; done++) send(done % n, Math.floor(done / n));
  }, 5);
  return { stop: () => clearInterval(timer), skipped: () => skipped };
}

/** VmRSS (or another /proc/<pid>/status field) in MiB; 0 when the process is gone. */
export function statusMiB(pid: number, field = 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Samples the RSS of `pids` every `everyMs` until stopped: per pid the RSS at start and the peak. */
export function sampleRss(pids: number[], everyMs = 50): () => { before: number; peak: number }[] {
  const before = pids.map((p) => statusMiB(p));
  const peak = [...before];
  const timer = setInterval(() => {
    pids.forEach((p, i) => {
      peak[i] = Math.max(peak[i], statusMiB(p));
    });
  }, everyMs);
  return () => {
    clearInterval(timer);
    return pids.map((_, i) => ({ before: before[i], peak: peak[i] }));
  };
}

export interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (as scripts/load-generator.ts). */
export function stats(samples: number[]): Stats {
  const s = Float64Array.from(samples).sort();
  const at = (p: number) =>
    s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] : NaN;
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s.length ? s[s.length - 1] : NaN };
}

export const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
export const int = (v: number) => Math.round(v).toLocaleString('en-US');

const CUSTOM_TYPE = '4ed3a5bb-53f8-4511-941b-07902982c31c';
const CUBE_ASSET = '5b5bd872-0328-e38c-1b54-bf2bfa70fc85';

/** Creates an object below `parentId` through REST; returns its id. */
export async function createObject(
  node: HttpTarget,
  token: string,
  parentId: string,
  name: string,
  transform?: unknown,
): Promise<string> {
  const body = {
    object_name: name,
    parent_id: parentId,
    object_type_id: CUSTOM_TYPE,
    asset_3d_id: CUBE_ASSET,
  };
  const res = await api<{ object_id: string }>(node, 'POST', '/objects', {
    token,
    expect: 201,
    body: transform ? { ...body, transform } : body,
  });
  return res.object_id;
}

/** `n` objects scattered over ±500 units below `worldId`, `concurrency` requests at a time; ids in order. */
export async function createObjects(
  node: HttpTarget,
  token: string,
  worldId: string,
  n: number,
  concurrency: number,
): Promise<string[]> {
  const ids: string[] = new Array(n);
  let next = 0;
  const v = () => (Math.random() * 2 - 1) * 500;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      ids[i] = await createObject(node, token, worldId, `Object ${i}`, {
        position: { x: v(), y: 0, z: v() },
        rotation: { x: 0, y: (i * 37) % 360, z: 0 },
        scale: { x: 1, y: 1, z: 1 },
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}

// ---- phase 5: a chain event on A reaching C through peers -------------------------------------------

/** anvil with the fixture contracts (test/harvester/chain.ts), and each node's `--chains` flags. */
export async function startBenchChain(): Promise<{
  anvil: Anvil;
  client: Client;
  deployed: Deployed;
  /** A reads the chain (RPC, no confirmations, 50 ms poll); the others follow it through peers, quorum 1. */
  flags(source: 'rpc' | 'peers'): string[];
}> {
  const anvil = await startAnvil();
  const client = testClient(anvil.url);
  const deployed = await deployAll(client);
  const flags = (source: 'rpc' | 'peers') => [
    '--chains',
    JSON.stringify([
      {
        name: 'anvil',
        chainId: 31337,
        source,
        ...(source === 'rpc' ? { rpcUrl: anvil.url, confirmations: 0, pollIntervalMs: 50 } : {}),
        contracts: { tokens: [deployed.token] },
      },
    ]),
    '--chain-quorum',
    '1',
  ];
  return { anvil, client, deployed, flags };
}

/**
 * `n` ERC-20 mints to `wallet`, one at a time: from just before the transaction is sent (anvil mines it
 * at once) until the wallet's balance on each node (GET /users/me/wallets, polled every 5 ms) includes it.
 */
export async function chainEventLatency(
  chain: { client: Client; deployed: Deployed },
  nodes: Record<string, HttpTarget & { token: string }>,
  n: number,
): Promise<Record<string, number[]>> {
  const { client, deployed } = chain;
  const out: Record<string, number[]> = Object.fromEntries(Object.keys(nodes).map((k) => [k, []]));
  const balanceOn = async (node: HttpTarget & { token: string }) => {
    const rows = await api<{ contract_id: string; balance: string }[]>(node, 'GET', '/users/me/wallets', {
      token: node.token,
    });
    return BigInt(rows.find((r) => r.contract_id === deployed.token.toLowerCase())?.balance ?? '0');
  };
  let expected = 0n;
  for (let i = 0; i < n; i++) {
    expected += 1n;
    const t0 = performance.now();
    await send(client, deployed.token, 'TestToken', 'mint', [benchWallet.address, 1n]);
    await Promise.all(
      Object.entries(nodes).map(async ([name, node]) => {
        const deadline = t0 + 30_000;
        while ((await balanceOn(node)) < expected) {
          if (performance.now() > deadline) throw new Error(`mint ${i} never reached ${name}`);
          await sleep(5);
        }
        out[name].push(performance.now() - t0);
      }),
    );
  }
  return out;
}

/** The wallet the phase-5 mints go to (anvil's dev account #1), signed in on each node to read its balance. */
export const benchWallet = accounts[1];

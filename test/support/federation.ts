/**
 * Federated nodes as separate processes on loopback: each gets a data dir, a peer key made before it
 * starts (so every node's trust list and bootstrap addresses can name the others), free ports, and the
 * real `odyssey-node start` command. Logs are kept per node for failure messages. Below, what the chain
 * suites share about such nodes: anvil as a `--chains` flag, the chain status, refusal reasons, world
 * owners (the test's own libp2p peer is test-peer.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { ODYSSEY_ID_MASK, odysseyIdOf } from '../../harvester/odyssey-id.ts';
import { loadOrCreatePeerKey } from '../../node/federation/p2p-host.ts';
import type { Deployed } from '../harvester/chain.ts';
import { call } from './http.ts';

const NODE_BIN = join(process.cwd(), 'node_modules/.bin/node');

export interface NodeProcess {
  name: string;
  dir: string;
  peerId: string;
  httpPort: number;
  p2pPort: number;
  url: string;
  wsUrl: string;
  /** The TCP multiaddr others dial. */
  address: string;
  flags: string[];
  child?: ChildProcess;
  logs: string[];
  /** Starts (or restarts) the process; `flags` replace the node's extra flags when given. */
  start(flags?: string[]): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** True while the node's process is alive. */
export function isRunning(node: NodeProcess): boolean {
  const child = node.child;
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * Ports a node process is started on are chosen here and bound later by the child, so something else may
 * take one in between. Port 0 for listening and every outgoing connection draw from the kernel's ephemeral
 * range (32768–60999 here); these come from below it, at random, and never twice from one process.
 */
const PORT_RANGE = { from: 20_000, to: 32_000 };
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${PORT_RANGE.from} and ${PORT_RANGE.to} after 100 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A node's identity and ports, not started. `nodeOptions` go to the Node runtime before the script
 * (e.g. `--import` of a module a test plants in the node's process).
 */
export async function prepareNode(name: string, nodeOptions: string[] = []): Promise<NodeProcess> {
  const dir = await mkdtemp(join(tmpdir(), `odyssey-fed-${name}-`));
  const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(join(dir, 'peer-key'))).toString();
  const httpPort = await freePort();
  const p2pPort = await freePort();
  const node: NodeProcess = {
    name,
    dir,
    peerId,
    httpPort,
    p2pPort,
    url: `http://127.0.0.1:${httpPort}`,
    wsUrl: `ws://127.0.0.1:${httpPort}/posbus`,
    address: `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerId}`,
    flags: [],
    logs: [],
    start: async (flags) => {
      // A second process on a running node's port and data dir would fail on the lock while the first
      // still answered /health — and the first would outlive the test, orphaned.
      if (isRunning(node)) throw new Error(`${name} is already running`);
      if (flags) node.flags = flags;
      const args = [
        'composition/cli.ts',
        'start',
        '--data',
        dir,
        '--host',
        '127.0.0.1',
        '--port',
        String(httpPort),
        '--p2p-port',
        String(p2pPort),
        '--p2p-ws-port',
        '0',
        '--log-level',
        'info',
        ...node.flags,
      ];
      const child = spawn(NODE_BIN, [...nodeOptions, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      node.child = child;
      // A spawn that fails is reported by the wait below (through the logs), never an unhandled 'error'.
      child.on('error', (error) => node.logs.push(`spawn failed: ${error.message}`));
      const keep = (chunk: Buffer) => {
        node.logs.push(chunk.toString());
        if (node.logs.length > 2000) node.logs.splice(0, 1000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      // A node process loads every module on start: on a busy 2-core host that alone can take 30 s.
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`${name} exited: ${node.logs.join('').slice(-2000)}`);
          try {
            return (await fetch(`${node.url}/health`)).ok;
          } catch {
            return false;
          }
        },
        60_000,
        `${name} to answer /health`,
      );
    },
    stop: async () => {
      const child = node.child;
      if (!child || !isRunning(node)) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
  return node;
}

/**
 * Flags for a federation of `nodes`: each trusts the ones in `trusts` (default: all the others) and
 * dials the ones before it, with fast timers so that tests settle in seconds.
 */
export function federationFlags(node: NodeProcess, nodes: NodeProcess[], trusts = nodes): string[] {
  const others = trusts.filter((n) => n !== node).map((n) => n.peerId);
  const before = nodes.slice(0, nodes.indexOf(node)).map((n) => n.address);
  return [
    ...(others.length ? ['--trust', others.join(',')] : []),
    ...(before.length ? ['--bootstrap', before.join(',')] : []),
    '--announce-interval-ms',
    '300',
    '--federation-sync-interval-ms',
    '1500',
    '--peer-silence-timeout-ms',
    '4000',
    '--tick-ms',
    '50',
  ];
}

export async function cleanup(nodes: NodeProcess[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all(nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
}

/** Polls until `check` holds (or throws the last failure after `timeoutMs`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
      if ((error as Error).message.includes('exited')) throw error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The anvil chain of test/harvester/chain.ts as the nodes name it, and the zero address of its mints. */
export { CHAIN as ANVIL_CHAIN, ZERO as ZERO_ADDRESS } from './peer-blocks.ts';
/** The Odyssey world of NFT `n` (the id a mint of token `n | ODYSSEY_ID_MASK` makes). */
export const worldOf = (n: bigint) => odysseyIdOf(n | ODYSSEY_ID_MASK) as string;

/** `--chains` for anvil with the fixture contracts: read through its RPC, or followed through peers. */
export function anvilChainsFlag(rpcUrl: string, d: Deployed, source: 'rpc' | 'peers'): string {
  return JSON.stringify([
    {
      name: 'anvil',
      chainId: 31337,
      source,
      ...(source === 'rpc' ? { rpcUrl, confirmations: 0, pollIntervalMs: 20 } : {}),
      startBlock: 0,
      contracts: { tokens: [d.token, d.dad], odysseyNft: d.nft, staking: d.staking, nodeManagement: d.node },
    },
  ]);
}

/** Federation flags whose trust list names one more peer (the test's own, trusted like any operator's). */
export function trustingAlso(flags: string[], peerId: string): string[] {
  const out = [...flags];
  const trust = out.indexOf('--trust');
  out[trust + 1] = `${out[trust + 1]},${peerId}`;
  return out;
}

/** A node's first chain in `GET /harvester/status` (the fields the federation suites read). */
export interface ChainStatus {
  processed: number | null;
  reorgs: number;
  source: string;
  quorum: number | null;
  peers: { peer_id: string; disagreements: number; distrusted: boolean; last_reason: string | null }[];
  peer_blocks_checked: number;
  waiting: { number: number; hash: string; votes: number }[];
  gaps: number | null;
  pulls: number | null;
  covered_accounts: string[] | null;
  uncovered_accounts: string[];
}

export async function chainStatus(node: NodeProcess, token: string | undefined): Promise<ChainStatus> {
  const res = await call<{ chains: ChainStatus[] }>(node, 'GET', '/api/v4/harvester/status', { token });
  return res.body.chains[0];
}

/** Gossip (and pulls) a node refused from `peerId`, by reason (`GET /federation/peers`). */
export async function peerReasons(
  node: NodeProcess,
  token: string | undefined,
  peerId: string,
): Promise<Record<string, number>> {
  const res = await call<{ peerId: string; reasons: Record<string, number> }[]>(
    node,
    'GET',
    '/api/v4/federation/peers',
    { token },
  );
  return res.body.find((p) => p.peerId === peerId)?.reasons ?? {};
}

/** The owner of a world on a node; null when the node has no such world. */
export async function worldOwner(
  node: NodeProcess,
  token: string | undefined,
  world: string,
): Promise<string | null> {
  const res = await call<{ owner_id: string }>(node, 'GET', `/api/v4/worlds/${world}`, { token });
  return res.status === 200 ? res.body.owner_id : null;
}

/** Waits until every node's state says the same, or fails naming the node that lags. */
export async function onAll(
  nodes: NodeProcess[],
  check: (n: NodeProcess) => Promise<boolean>,
  what: string,
): Promise<void> {
  for (const n of nodes) await waitFor(() => check(n), 20_000, `${what} on ${n.name}`);
}

/**
 * `npm run devnet` as an operator runs it: three real node processes on loopback that connect to each
 * other, and a SIGINT that stops them all and frees their ports. Also the clear refusal of a taken port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/federation.ts';

const NODE_BIN = join(process.cwd(), 'node_modules/.bin/node');
const OFFSETS = [0, 1, 2, 100, 101, 102, 200, 201, 202];

interface Health {
  peerId: string;
  p2p: { peers: string[] };
}

const health = async (url: string) => (await (await fetch(`${url}/health`)).json()) as Health;

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

/** True when something accepts connections on the port. */
const open = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** A base port whose nine devnet ports are all free now. */
async function freeBase(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const servers: Server[] = [];
    try {
      for (const offset of OFFSETS) servers.push(await listen(base + offset));
      return base;
    } catch {
      // One was taken: another base.
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  }
}

function run(args: string[]) {
  const child = spawn(NODE_BIN, ['scripts/devnet.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d;
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('npm run devnet', () => {
  let dir: string | undefined;
  let script: ChildProcess | undefined;

  afterEach(async () => {
    // A failed test must not leave the script (and its nodes) running.
    if (script && script.exitCode === null) {
      const exited = new Promise((r) => script?.once('exit', r));
      script.kill('SIGINT');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts three connected nodes and stops them all on SIGINT', async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-devnet-'));
    const base = await freeBase();
    const devnet = run(['--dir', dir, '--base-port', String(base)]);
    script = devnet.child;
    const urls = [0, 100, 200].map((o) => `http://127.0.0.1:${base + o}`);

    let seen: Health[] = [];
    await waitFor(
      async () => {
        if (script?.exitCode !== null) throw new Error(`devnet exited: ${devnet.output()}`);
        seen = await Promise.all(urls.map(health));
        return seen.every((h) => h.p2p.peers.length === 2);
      },
      60_000,
      'three nodes with two peers each',
    );
    // Three identities, each printed in the table, each node connected to the other two.
    const ids = seen.map((h) => h.peerId);
    expect(new Set(ids).size).toBe(3);
    // The table is printed once the script has seen every node answer, which may be after we did.
    await waitFor(() => ids.every((id) => devnet.output().includes(id)), 30_000, 'the table of peer ids');
    for (const h of seen) {
      expect(h.p2p.peers.sort()).toEqual(ids.filter((id) => id !== h.peerId).sort());
    }

    script.kill('SIGINT');
    expect(await devnet.exited).toBe(0);
    for (const offset of OFFSETS) expect(await open(base + offset), `port ${base + offset}`).toBe(false);
  }, 120_000);

  it('refuses a port that is taken, naming it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-devnet-'));
    const base = await freeBase();
    const blocker = await listen(base + 101);
    try {
      const devnet = run(['--dir', dir, '--base-port', String(base)]);
      script = devnet.child;
      expect(await devnet.exited).toBe(1);
      expect(devnet.output()).toContain(`port ${base + 101} (node2 p2p TCP) is not free`);
      // Nothing was started: node1's port stays closed.
      expect(await open(base)).toBe(false);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

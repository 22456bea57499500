/**
 * What an idle node loads (issue 14, memory: docs/benchmarks.md "Memory"). A real node process started as
 * `npm start` runs it (bin/odyssey-node.js, seeded world, no chain, JSON logs, metrics off) on loopback,
 * with test/support/module-recorder.mjs listing every module it resolves. The libraries that once held
 * most of an idle node's RSS must stay out: the chain libraries (viem, @polkadot: their adapters load with
 * a chain of their family), the IPFS host defaults of the `helia` entry point (@helia/libp2p and what it
 * pulls: DHT, WebRTC, AutoTLS), prom-client (with --metrics on only) and pino-pretty (readable logs only).
 * Object storage itself still runs: Helia's core and bitswap are loaded. The compile cache is filled by a
 * child process before the first start (bin/odyssey-node.js), so the node never loads the type stripper.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const NODE_BIN = join(process.cwd(), 'node_modules/.bin/node');
const RECORDER = join(process.cwd(), 'test/support/module-recorder.mjs');
const ENTRY = join(process.cwd(), 'bin/odyssey-node.js');
const LOOPBACK = ['--host', '127.0.0.1', '--port', '0', '--p2p-port', '0', '--p2p-ws-port', '0'];
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ODYSSEY_')));

/** Packages an idle node must not load, each with why it would be there. */
const NOT_WHEN_IDLE: [RegExp, string][] = [
  [/\/node_modules\/viem\//, 'viem (EVM chains only)'],
  [/\/node_modules\/@polkadot\//, '@polkadot (Substrate chains and wallet proofs only)'],
  [/\/node_modules\/@helia\/libp2p\//, "@helia/libp2p (the 'helia' entry point's libp2p defaults)"],
  [/\/node_modules\/@libp2p\/kad-dht\//, 'kad-dht (helia defaults)'],
  [/\/node_modules\/@libp2p\/webrtc\//, 'webrtc (helia defaults)'],
  [/\/node_modules\/acme-client\//, 'acme-client (AutoTLS, helia defaults)'],
  [/\/node_modules\/prom-client\//, 'prom-client (--metrics on only)'],
  [/\/node_modules\/pino-pretty\//, 'pino-pretty (readable logs only)'],
];

interface Run {
  modules: string[];
  started: boolean;
  cacheFilesWhileRunning: number;
  /** bin/odyssey-node.js's marker: the cache was filled for this version of the code before the node loaded. */
  warmedMarkers: number;
  code: number | null;
  stderr: string;
}

async function countFiles(dir: string, named = /./): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && named.test(e.name)).length;
}

/** Starts a node, waits for its start line, counts the compile cache's files, stops it with SIGTERM. */
async function runNode(dir: string, record: string): Promise<Run> {
  const cache = join(dir, 'compile-cache');
  const child = spawn(
    NODE_BIN,
    ['--import', RECORDER, ENTRY, 'start', '--data', join(dir, 'data'), '--log-format', 'json', ...LOOPBACK],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...ENV, MODULE_RECORD: record, NODE_COMPILE_CACHE: cache },
    },
  );
  let out = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      stderr += `spawn failed: ${e.message}`;
      resolve(null);
    });
    child.on('exit', (code) => resolve(code));
  });
  // The first start fills the compile cache first (a child loading every module): slow on a loaded machine.
  const deadline = Date.now() + 120_000;
  let started = false;
  while (!started && child.exitCode === null && Date.now() < deadline) {
    started = out.includes('"msg":"odyssey node started"');
    if (!started) await new Promise((r) => setTimeout(r, 100));
  }
  const cacheFilesWhileRunning = await countFiles(cache);
  const warmedMarkers = await countFiles(cache, /^odyssey-node-/);
  child.kill('SIGTERM');
  const code = await exited;
  const modules = (await readFile(record, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return { modules, started, cacheFilesWhileRunning, warmedMarkers, code, stderr };
}

describe('an idle node as npm start runs it', () => {
  let dir: string;
  let first: Run;
  let second: Run;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-lean-start-'));
    first = await runNode(dir, join(dir, 'modules-1.txt'));
    // The same data (the world seeded, the starter assets stored) and the compile cache the first wrote.
    second = await runNode(dir, join(dir, 'modules-2.txt'));
  }, 300_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts and stops cleanly, twice on the same data', () => {
    for (const run of [first, second]) {
      expect(run.started, run.stderr).toBe(true);
      expect(run.code, run.stderr).toBe(0);
    }
  });

  it('loads object storage and federation but none of the libraries it does not use', () => {
    for (const run of [first, second]) {
      // The recorder saw the node's own modules, Helia's core and libp2p's gossipsub.
      expect(run.modules.some((u) => u.endsWith('/composition/main.ts'))).toBe(true);
      expect(run.modules.some((u) => /\/node_modules\/helia\/dist\/src\/helia\.js$/.test(u))).toBe(true);
      expect(run.modules.some((u) => u.includes('/node_modules/@helia/bitswap/'))).toBe(true);
      expect(run.modules.some((u) => u.includes('/node_modules/@libp2p/gossipsub/'))).toBe(true);
      const unwanted = NOT_WHEN_IDLE.filter(([pattern]) => run.modules.some((u) => pattern.test(u))).map(
        ([, why]) => why,
      );
      expect(unwanted).toEqual([]);
    }
  });

  it('fills the compile cache before the first start, once for this version of the code', () => {
    expect(first.cacheFilesWhileRunning).toBeGreaterThan(0);
    expect(first.warmedMarkers).toBe(1);
    // The restart found the marker and did not fill the cache again.
    expect(second.warmedMarkers).toBe(1);
  });
});

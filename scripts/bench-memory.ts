/**
 * Memory benchmark: the RSS of an idle node as `npm start` runs it (bin/odyssey-node.js; seeded world, no
 * chains), first on a fresh data dir with an empty compile cache (bin/odyssey-node.js fills it in a child
 * process first), then restarted on the same data with the cache filled (every later start), then with N users connected and moving in one world
 * (scripts/load-generator.ts) on the restarted node. Prints a markdown table with the node's RSS and
 * process.memoryUsage() (heap, external, array buffers) at each point.
 *
 *   node scripts/bench-memory.ts                  # idle, then 1,000 users
 *   node scripts/bench-memory.ts --clients 0      # idle only
 *
 * The node runs with scripts/memory-probe.mjs, which answers SIGUSR2 with a JSON line holding
 * process.memoryUsage(). The compile cache is a temp dir of the run's own (NODE_COMPILE_CACHE). Goals (issue 14): idle ≤ 150 MiB RSS; 1,000 users ≤ +100 MiB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loopbackNodeArgs, MANY_CLIENTS_FLAGS, NODE, ROOT, RUNTIME_FLAGS } from './bench-node.ts';

const { values: opts } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    /** How long the idle node settles before it is measured. */
    'idle-ms': { type: 'string', default: '5000' },
    'start-timeout-ms': { type: 'string', default: '60000' },
    'node-flags': { type: 'string', default: '' },
  },
  strict: true,
});

const MiB = 2 ** 20;
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** A node as `npm start` runs it (bin/odyssey-node.js), on `data`, with its compile cache in `cacheDir`. */
function spawnNode(data: string, cacheDir: string): ChildProcess {
  const node = spawn(
    NODE,
    [
      ...RUNTIME_FLAGS,
      ...['--import', './scripts/memory-probe.mjs'],
      'bin/odyssey-node.js',
      ...loopbackNodeArgs(data, MANY_CLIENTS_FLAGS),
      ...String(opts['node-flags']).split(/\s+/).filter(Boolean),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // A compile cache of this run's own: the first start is measured cold, the restart warm.
      env: { ...process.env, NODE_COMPILE_CACHE: cacheDir },
    },
  );
  children.add(node);
  return node;
}

interface RunningNode {
  node: ChildProcess;
  url: string;
  /** process.memoryUsage() (through the probe) and VmRSS, now. */
  sample(point: string): Promise<Row>;
  stop(): Promise<void>;
}

interface Row {
  point: string;
  rss: number;
  memory?: Memory;
}

async function startNode(data: string, cacheDir: string): Promise<RunningNode> {
  const node = spawnNode(data, cacheDir);
  const pid = node.pid as number;
  const memories: Memory[] = [];
  createInterface({ input: node.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    if (line.startsWith('{"probe"')) memories.push(JSON.parse(line).memory);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const ms = Number(opts['start-timeout-ms']);
    const timer = setTimeout(() => reject(new Error(`node did not start in ${ms} ms`)), ms);
    node.once('exit', (code) => reject(new Error(`node exited with ${code}`)));
    node.once('error', reject);
    createInterface({ input: node.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'odyssey node started' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
  });
  return {
    node,
    url,
    async sample(point) {
      const before = memories.length;
      node.kill('SIGUSR2');
      const until = Date.now() + 5000;
      while (memories.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      return { point, rss: rssMiB(pid), memory: memories[before] };
    },
    async stop() {
      if (node.exitCode !== null) return;
      const exited = new Promise((resolve) => node.once('exit', resolve));
      node.kill('SIGTERM');
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'odyssey-bench-memory-'));
  const data = join(dir, 'data');
  const cacheDir = join(dir, 'compile-cache');
  const rows: Row[] = [];
  const idleMs = Number(opts['idle-ms']);
  try {
    // First start: the world is seeded and the starter assets imported; Node strips every .ts file.
    const first = await startNode(data, cacheDir);
    await new Promise((r) => setTimeout(r, idleMs));
    rows.push(await first.sample('idle, first start (seeds the world; compile cache empty)'));
    await first.stop();
    // Every later start (as `npm start` runs a node day to day): the same data, the compile cache warm.
    const node = await startNode(data, cacheDir);
    await new Promise((r) => setTimeout(r, idleMs));
    rows.push(await node.sample('idle, restarted (seeded world, no chains; compile cache filled)'));

    const clients = Number(opts.clients);
    if (clients > 0) {
      const gen = spawn(
        NODE,
        [
          'scripts/load-generator.ts',
          '--url',
          node.url,
          '--clients',
          String(clients),
          '--observers',
          '5',
          '--warmup-ms',
          '3000',
          '--measure-ms',
          '3000',
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.add(gen);
      const genFailed = new Promise<never>((_, reject) => gen.once('error', reject));
      let sampled: Promise<Row> | undefined;
      createInterface({ input: gen.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line.includes('"measure-end"'))
          sampled = node.sample(`${clients} users connected, moving at 10 Hz`);
      });
      await Promise.race([new Promise((resolve) => gen.once('exit', resolve)), genFailed]);
      const row = await sampled;
      if (row) rows.push(row);
      else console.error('bench-memory: the load generator ended without a measurement window');
    }
    await node.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const mib = (v: number | undefined) => (v === undefined ? '–' : (v / MiB).toFixed(0));
  console.log('| point | RSS MiB | heap used / total MiB | external MiB | array buffers MiB |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const m = row.memory;
    console.log(
      `| ${row.point} | ${row.rss.toFixed(0)} | ${mib(m?.heapUsed)} / ${mib(m?.heapTotal)} | ${mib(m?.external)} | ${mib(m?.arrayBuffers)} |`,
    );
  }
  if (rows.length > 2)
    console.log(`\n${rows[1].point} → ${rows[2].point}: +${(rows[2].rss - rows[1].rss).toFixed(0)} MiB RSS`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error('bench-memory failed:', error);
    process.exit(1);
  },
);

/**
 * Memory benchmark: the RSS of an idle node (fresh data dir, seeded world, no chains), then with N users
 * connected and moving in one world (scripts/load-generator.ts). Prints a markdown table with the node's
 * RSS and process.memoryUsage() (heap, external, array buffers) at each point.
 *
 *   node scripts/bench-memory.ts                  # idle, then 1,000 users
 *   node scripts/bench-memory.ts --clients 0      # idle only
 *
 * The node runs with the event-loop probe (scripts/bench-node-probe.ts), which answers SIGUSR2 with a JSON
 * line holding process.memoryUsage(). Goals (issue 14): idle ≤ 150 MiB RSS; 1,000 users ≤ +100 MiB.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const NODE = existsSync(join(ROOT, 'node_modules/.bin/node'))
  ? join(ROOT, 'node_modules/.bin/node')
  : process.execPath;

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

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'odyssey-bench-memory-'));
  const rows: { point: string; rss: number; memory?: Memory }[] = [];
  try {
    const node = spawn(
      NODE,
      [
        // As `npm start` and bin/odyssey-node.js: a small young generation (docs/benchmarks.md, memory).
        '--max-semi-space-size=4',
        '--import',
        './scripts/bench-node-probe.ts',
        'composition/cli.ts',
        'start',
        '--data',
        join(dir, 'data'),
        '--port',
        '0',
        '--p2p-port',
        '0',
        '--p2p-ws-port',
        '0',
        '--host',
        '127.0.0.1',
        '--auth-requests-per-minute',
        '100000',
        '--max-connections-per-address',
        '0',
        ...String(opts['node-flags']).split(/\s+/).filter(Boolean),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(node);
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
    const sample = async (point: string) => {
      const before = memories.length;
      node.kill('SIGUSR2');
      const until = Date.now() + 5000;
      while (memories.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      rows.push({ point, rss: rssMiB(pid), memory: memories[before] });
    };
    await new Promise((r) => setTimeout(r, Number(opts['idle-ms'])));
    await sample('idle (seeded world, no chains)');

    const clients = Number(opts.clients);
    if (clients > 0) {
      const gen = spawn(
        NODE,
        [
          'scripts/load-generator.ts',
          '--url',
          url,
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
      let sampled: Promise<void> | undefined;
      createInterface({ input: gen.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line.includes('"measure-end"')) sampled = sample(`${clients} users connected, moving at 10 Hz`);
      });
      await Promise.race([new Promise((resolve) => gen.once('exit', resolve)), genFailed]);
      await sampled;
    }
    node.kill('SIGTERM');
    await new Promise((resolve) => node.once('exit', resolve));
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
  if (rows.length > 1)
    console.log(`\n${rows[0].point} → ${rows[1].point}: +${(rows[1].rss - rows[0].rss).toFixed(0)} MiB RSS`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error('bench-memory failed:', error);
    process.exit(1);
  },
);

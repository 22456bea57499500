/**
 * A federation of three nodes on loopback for development: each trusts the other two, dials the ones
 * started before it, and holds the seeded default world. Data dirs are kept, so a restart resumes.
 *
 *   npm run devnet                                   # HTTP 4100, 4200, 4300; data in ./devnet
 *   npm run devnet -- --dir /tmp/dn --base-port 5100 # HTTP 5100, 5200, 5300
 *   npm run devnet -- -- --log-level debug           # after `--`: flags for every node
 *
 * Node i (from 0) uses base + 100·i for HTTP, + 1 for p2p TCP, + 2 for p2p WebSockets. Ctrl-C or SIGTERM
 * stops all three and exits 0; a node that dies on its own stops the others and exits 1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadOrCreatePeerKey } from '../node/federation/p2p-host.ts';

const NAMES = ['node1', 'node2', 'node3'];
const HOST = '127.0.0.1';
const CLI = resolve(import.meta.dirname, '../composition/cli.ts');
const READY_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 15_000;

interface DevNode {
  name: string;
  dir: string;
  log: string;
  peerId: string;
  httpPort: number;
  p2pPort: number;
  wsPort: number;
  url: string;
  child?: ChildProcess;
  exited?: Promise<void>;
}

function parse(argv: string[]) {
  const usage = 'usage: npm run devnet -- [--dir DIR] [--base-port N] [-- node flags…]';
  try {
    // What follows `--` comes back as positionals: the flags passed to every node.
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string', default: './devnet' },
        'base-port': { type: 'string', default: '4100' },
      },
      allowPositionals: true,
    });
    const base = Number(values['base-port']);
    // The last node's WebSocket port is base + 202.
    if (!Number.isInteger(base) || base < 1 || base + 202 > 65535)
      throw new Error(`bad --base-port ${values['base-port']}`);
    return { dir: resolve(values.dir), base, extra: positionals };
  } catch (e) {
    console.error(`devnet: ${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
}

/** Fails with the port named when something already listens on it. */
function checkFree(port: number, what: string): Promise<void> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      console.error(`devnet: port ${port} (${what}) is not free (${e.code}); free it or use --base-port`);
      process.exit(1);
    });
    server.listen(port, HOST, () => server.close(() => done()));
  });
}

/** Data dir and peer key first: every node's trust list and bootstrap addresses name the others. */
async function prepare(dir: string, base: number): Promise<DevNode[]> {
  await mkdir(dir, { recursive: true });
  return Promise.all(
    NAMES.map(async (name, i) => {
      const httpPort = base + 100 * i;
      const key = await loadOrCreatePeerKey(join(dir, name, 'peer-key'));
      return {
        name,
        dir: join(dir, name),
        log: join(dir, `${name}.log`),
        peerId: peerIdFromPrivateKey(key).toString(),
        httpPort,
        p2pPort: httpPort + 1,
        wsPort: httpPort + 2,
        url: `http://${HOST}:${httpPort}`,
      };
    }),
  );
}

function start(node: DevNode, nodes: DevNode[], extra: string[]): void {
  const others = nodes.filter((n) => n !== node).map((n) => n.peerId);
  const before = nodes
    .slice(0, nodes.indexOf(node))
    .map((n) => `/ip4/${HOST}/tcp/${n.p2pPort}/p2p/${n.peerId}`);
  const args = [
    ...['--data', node.dir, '--name', `devnet ${node.name}`, '--host', HOST, '--p2p-host', HOST],
    ...['--port', String(node.httpPort), '--public-url', node.url],
    ...['--p2p-port', String(node.p2pPort), '--p2p-ws-port', String(node.wsPort)],
    ...['--trust', others.join(',')],
    ...(before.length ? ['--bootstrap', before.join(',')] : []),
    ...extra,
  ];
  // Appended, so the logs of earlier runs stay; the child writes to the file itself.
  const log = openSync(node.log, 'a');
  // Its own process group: a terminal's Ctrl-C reaches only this script, which stops the nodes in order.
  const child = spawn(process.execPath, [CLI, 'start', ...args], {
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  // Without a listener a failed spawn would end the script with an unhandled 'error'.
  child.on('error', (error) => console.error(`devnet: ${node.name} could not start: ${error.message}`));
  node.child = child;
  node.exited = new Promise((done) => child.once('exit', () => done()));
}

const running = (node: DevNode) => node.child?.exitCode === null && node.child.signalCode === null;

/** Resolves once the node answers /health, or has exited (its exit is reported elsewhere). */
async function ready(node: DevNode): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!running(node)) return;
    try {
      if ((await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${node.name} did not answer ${node.url}/health in ${READY_TIMEOUT_MS / 1000} s`);
}

/** SIGTERM, then SIGKILL if it has not exited after KILL_AFTER_MS. */
async function stop(node: DevNode): Promise<void> {
  const child = node.child;
  if (!child || !running(node)) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => {
    console.error(`devnet: ${node.name} did not stop within ${KILL_AFTER_MS / 1000} s; killing it`);
    child.kill('SIGKILL');
  }, KILL_AFTER_MS);
  await node.exited;
  clearTimeout(killer);
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function table(nodes: DevNode[]): string {
  const rows = [
    ['node', 'URL', 'peer id', 'data dir'],
    ...nodes.map((n) => [n.name, n.url, n.peerId, n.dir]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(): Promise<void> {
  const { dir, base, extra } = parse(process.argv.slice(2));
  const nodes = await prepare(dir, base);
  for (const n of nodes) {
    await checkFree(n.httpPort, `${n.name} HTTP`);
    await checkFree(n.p2pPort, `${n.name} p2p TCP`);
    await checkFree(n.wsPort, `${n.name} p2p WebSocket`);
  }

  // Set at once by the first reason to stop (a signal, a dead node), so that nothing reacts after it.
  let stopping: Promise<void> | undefined;
  const shutdown = (code: number, report: () => Promise<void> | void) => {
    stopping ??= (async () => {
      await report();
      await Promise.all(nodes.map(stop));
      console.error('devnet: stopped');
      process.exit(code);
    })();
  };
  const onSignal = (signal: string) =>
    shutdown(0, () => console.error(`\ndevnet: ${signal}, stopping the nodes`));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Should this script itself fail, the nodes (in their own process group) must not outlive it.
  process.on('exit', () => {
    for (const n of nodes) if (running(n)) n.child?.kill('SIGTERM');
  });

  for (const n of nodes) {
    start(n, nodes, extra);
    n.child?.once('exit', (code, signal) =>
      shutdown(1, async () => {
        console.error(`\ndevnet: ${n.name} exited (${signal ?? `code ${code}`}); last lines of ${n.log}:`);
        console.error(await tail(n.log));
        console.error('devnet: stopping the others');
      }),
    );
  }
  try {
    await Promise.all(nodes.map(ready));
  } catch (e) {
    shutdown(1, () => console.error(`devnet: ${(e as Error).message}; see its log`));
  }
  if (stopping) return;
  console.log(table(nodes));
  console.log(`\nlogs: ${nodes.map((n) => n.log).join(', ')}`);
  console.log(`try: curl -s ${nodes[0].url}/health   (Ctrl-C stops all three)`);
}

await main();

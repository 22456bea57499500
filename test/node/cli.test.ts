/**
 * `odyssey-node` as an operator runs it: real node processes (composition/cli.ts on the pinned Node) on loopback.
 * Help on every command, helpful refusals, a failed start that exits at once and frees the data dir, a
 * second node on a data dir in use, the start line and the log formats.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configKeys, envName, flagName } from '../../composition/cli-help.ts';
import { Database } from '../../storage/db/database.ts';

const NODE_BIN = join(process.cwd(), 'node_modules/.bin/node');
const CLI = join(process.cwd(), 'composition/cli.ts');
/** Every node here listens on loopback, on ports the system picks. */
const LOOPBACK = ['--host', '127.0.0.1', '--port', '0', '--p2p-port', '0', '--p2p-ws-port', '0'];
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ODYSSEY_')));

function cli(args: string[]) {
  return spawnSync(NODE_BIN, [CLI, ...args], { encoding: 'utf8', timeout: 30_000, env: ENV });
}

interface Running {
  exited: Promise<{ code: number | null; ms: number }>;
  stdout: () => string;
  stderr: () => string;
  kill(signal: NodeJS.Signals): void;
}

function startProcess(args: string[]): Running {
  const started = Date.now();
  const child = spawn(NODE_BIN, [CLI, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: ENV });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
    child.on('error', (e) => {
      err += `spawn failed: ${e.message}`;
      resolve({ code: null, ms: Date.now() - started });
    });
    child.on('exit', (code) => resolve({ code, ms: Date.now() - started }));
  });
  return { exited, stdout: () => out, stderr: () => err, kill: (s) => child.kill(s) };
}

async function until<T>(what: string, read: () => T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('help', () => {
  it('lists every config key with its flag, environment variable and default, on every command', () => {
    for (const args of [
      ['--help'],
      ['-h'],
      ['help'],
      ['start', '--help'],
      ['gc', '-h'],
      ['--port', '1', '--help'],
    ]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(0);
      for (const key of configKeys()) {
        expect(r.stdout, `${args.join(' ')}: ${key}`).toContain(`--${flagName(key)} `);
        expect(r.stdout, `${args.join(' ')}: ${key}`).toContain(envName(key));
      }
    }
    const start = cli(['start', '--help']).stdout;
    expect(start).toMatch(
      /--tick-ms N\n\s+env ODYSSEY_TICK_MS, default 100\n\s+Position tick of every world\./,
    );
    expect(start).toMatch(/--log-format auto\|json\|pretty\n\s+env ODYSSEY_LOG_FORMAT, default auto/);
    expect(cli(['gc', '--help']).stdout).toMatch(/^usage: odyssey-node gc/);
  }, 120_000);

  it('names an unknown command or flag, suggests the likely one, and exits 2', () => {
    const command = cli(['strat']);
    expect(command.status).toBe(2);
    expect(command.stderr).toMatch(/unknown command "strat" \(did you mean "start"\?\).*--help/);
    const flag = cli(['start', '--tick-msec', '50']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(
      /unknown flag --tick-msec \(did you mean --tick-ms\?\); see odyssey-node start --help/,
    );
    const missing = cli(['start', '--data']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/flag --data needs a value/);
  }, 60_000);
});

describe('a node process', () => {
  const dirs: string[] = [];
  let blocker: Server;
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'odyssey-cli-'));
    dirs.push(dir);
    return dir;
  };
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((r) => blocker.close(r));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('with its port taken exits non-zero within seconds, and the data dir can be opened afterwards', async () => {
    const data = await tempDir();
    const port = (blocker.address() as { port: number }).port;
    const node = startProcess([...LOOPBACK, '--port', String(port), '--data', data, '--log-format', 'json']);
    const { code, ms } = await node.exited;
    expect(node.stderr()).toMatch(/failed to start: listen EADDRINUSE/);
    expect(code).toBe(1);
    // Boot (LevelDB, libp2p, starter assets) takes a few seconds on a loaded machine; a hang would not end.
    expect(ms).toBeLessThan(30_000);
    const db = new Database(join(data, 'db'));
    await db.open();
    await db.close();
  }, 60_000);

  it('says so when another node uses the data dir; the start line names what is on and off', async () => {
    const data = await tempDir();
    const first = startProcess([
      ...LOOPBACK,
      '--data',
      data,
      '--log-format',
      'json',
      '--admins',
      '0x00000000000000000000000000000000000000aa',
      '--world-creation',
      'admins',
      '--cors',
      'https://a.example',
    ]);
    try {
      const line = await until('the start line', () =>
        jsonLines(first.stdout()).find((l) => l.msg === 'odyssey node started'),
      );
      expect(line).toMatchObject({
        harvester: 'off',
        admins: ['0x00000000000000000000000000000000000000aa'],
        worldCreation: 'node admins only',
        cors: ['https://a.example'],
        federation: { trust: 'nobody', bootstrap: 'none', replicate: 'on-demand' },
        pinning: { pin: 'referenced', storageQuotaGb: 'none' },
        metrics: 'off',
      });
      expect((line.federation as { peerId: string }).peerId).toMatch(/^12D3Koo/);
      // /version carries the commit of the checkout the node runs from.
      const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
      expect(line.git).toBe(head);
      const version = (await (await fetch(`${line.url}/version`)).json()) as { controller: { git?: string } };
      expect(version.controller.git).toBe(head);

      // The second node: pretty logs, and a clear word about the data dir.
      const second = startProcess([...LOOPBACK, '--data', data, '--log-format', 'pretty']);
      const { code, ms } = await second.exited;
      expect(code).toBe(1);
      expect(ms).toBeLessThan(30_000);
      expect(second.stderr()).toMatch(/failed to start: another process is using the data dir/);
      // Readable lines, not JSON: the level as a word and the message.
      expect(second.stdout()).toMatch(/FATAL.*failed to start/);
      expect(jsonLines(second.stdout())).toEqual([]);
      // The first node is unharmed.
      expect((await fetch(`${line.url}/health`)).status).toBe(200);
    } finally {
      first.kill('SIGTERM');
    }
    expect((await first.exited).code).toBe(0);
  }, 120_000);
});

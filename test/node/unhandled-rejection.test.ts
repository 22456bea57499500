/**
 * A promise rejected with no handler (a bug somewhere in a request's path) does not end a running node:
 * the node started as `odyssey-node start` logs it as an error and goes on serving. The rejection is
 * planted by a module loaded with --import into the real node process, a few seconds after start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/federation.ts';

const PLANT = `data:text/javascript,setTimeout(() => { Promise.reject(new Error('planted rejection')); }, 1500);`;
let child: ChildProcess | undefined;
let dir: string | undefined;

afterAll(async () => {
  child?.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('an unhandled rejection in a running node', () => {
  it('is logged as an error and the node keeps serving', async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-unhandled-'));
    const port = await freePort();
    const logs: string[] = [];
    child = spawn(
      process.execPath,
      [
        '--import',
        PLANT,
        'composition/cli.ts',
        'start',
        '--data',
        dir,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--p2p-port',
        '0',
        '--p2p-ws-port',
        '0',
        '--log-format',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    await waitFor(() => logs.join('').includes('planted rejection'), 60_000, 'the planted rejection');
    const line = logs
      .join('')
      .split('\n')
      .find((l) => l.includes('planted rejection'));
    expect(JSON.parse(line as string)).toMatchObject({
      level: 50,
      msg: 'unhandled promise rejection (a bug): logged, the node keeps serving',
      err: { message: 'planted rejection' },
    });
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok === true,
      60_000,
      'the node to answer /health',
    );
    expect(child.exitCode).toBeNull();
  }, 120_000);
});

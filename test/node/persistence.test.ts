import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import type { MessageOf } from '../../protocol/posbus/index.ts';
import { connectGuest, eventually, guest, startNode, type TestNode } from '../support/node.ts';

const NODE_BIN = join(process.cwd(), 'node_modules/.bin/node');

describe('persistence across restarts', () => {
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.cleanup();
    node = undefined;
  });

  it('keeps worlds, objects, attributes, users and last positions; seeding runs once', async () => {
    node = await startNode({ tickMs: 20 });
    const objectCount = node.node.store.get(DEFAULT_WORLD_ID)?.objects.size;
    const attributeCount = node.node.store.get(DEFAULT_WORLD_ID)?.attributes.size;
    const user = await guest(node);
    const a = await connectGuest(node, {}, user);
    await a.client.teleport(DEFAULT_WORLD_ID);
    a.client.send({
      type: 'MyTransform',
      position: { x: 11, y: 2, z: -7 },
      rotation: { x: 0, y: 180, z: 0 },
    });
    await eventually(
      () => node?.node.worlds.roomOf(user.id)?.transformOf(user.id)?.position.x === 11,
      5000,
      'move',
    );
    await a.client.close();

    node = await node.restart();
    const world = node.node.store.get(DEFAULT_WORLD_ID);
    expect(world?.objects.size).toBe(objectCount);
    expect(world?.attributes.size).toBe(attributeCount);
    // The user's token still works and the user comes back where they left.
    const again = await connectGuest(node, {}, user);
    const spawn = again.client.next('MyTransform');
    await again.client.teleport(DEFAULT_WORLD_ID);
    expect((await spawn) as MessageOf<'MyTransform'>).toMatchObject({
      position: { x: 11, y: 2, z: -7 },
      rotation: { x: 0, y: 180, z: 0 },
    });
    await again.client.close();
  });

  it('deletes guests a while after their last session, as the original did', async () => {
    node = await startNode({ guestTtlMs: 0 });
    const user = await guest(node);
    const c = await connectGuest(node, {}, user);
    await c.client.teleport(DEFAULT_WORLD_ID);
    // Online guests stay.
    expect(await node.node.sweepGuests()).toBe(0);
    await c.client.close();
    await eventually(() => node?.node.posbus.sessionCount === 0, 5000, 'session gone');
    // The session's end is recorded just after it closes; the sweep removes the guest once that is written.
    let removed = 0;
    for (let i = 0; i < 50 && !removed; i++) {
      await new Promise((r) => setTimeout(r, 20));
      removed = await node.node.sweepGuests();
    }
    expect(removed).toBe(1);
    expect(await node.node.users.get(user.id)).toBeUndefined();
  });
});

describe('the odyssey-node command', () => {
  it('refuses a bad config naming the key, and exits 2', async () => {
    const { code, stderr } = await run(['composition/cli.ts', 'start', '--tick-ms', 'fast']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/tickMs \(from flag --tick-ms\)/);
  });

  it('starts with a fresh data dir, serves /health, and stops cleanly on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'odyssey-cli-'));
    try {
      const child = spawn(
        NODE_BIN,
        [
          'bin/odyssey-node.js',
          'start',
          '--data',
          dir,
          '--port',
          '0',
          '--p2p-port',
          '0',
          '--p2p-ws-port',
          '0',
          '--log-level',
          'info',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      await eventually(() => out.includes('odyssey node started'), 15_000, 'node start');
      const url = JSON.parse(out.split('\n').find((l) => l.includes('odyssey node started')) as string).url;
      const health = (await (await fetch(`${url}/health`)).json()) as { status: string; worlds: number };
      expect(health).toMatchObject({ status: 'ok', worlds: 1 });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('odyssey node stopped');
      expect((await stat(join(dir, 'node-secret'))).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

/**
 * The SDK examples run as a person would run them (`node examples/….ts --url … --duration …`, as their
 * npm entries do) against a real node, and stop by themselves.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../support/node.ts';

const NODE_BIN = join(process.cwd(), 'node_modules/.bin/node');
let node: TestNode;

beforeAll(async () => {
  node = await startNode();
});
afterAll(() => node?.cleanup());

function run(script: string, seconds: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE_BIN, [script, '--url', node.url, '--duration', String(seconds)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    // Far past the duration: an example that does not stop by itself fails here.
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, output });
    });
  });
}

describe('examples', () => {
  it('walking bots: both enter the default world, see each other walk, high-five, and stop', async () => {
    const { code, output } = await run('examples/walking-bots.ts', 4);
    expect(output).toContain('alice');
    expect(code, output).toBe(0);
    expect(output).toMatch(/alice \(.+\) entered Odyssey Plaza/);
    expect(output).toMatch(/alice sees bob at \(/);
    expect(output).toContain('bob got a high five: "hi bob"');
    expect(output).toContain('alice got a high five: "hi alice"');
    expect(output).toContain('bots stopped');
  }, 30_000);

  it('builder bot: makes a world with a tower of cubes and drags the top one over PosBus', async () => {
    const { code, output } = await run('examples/builder-bot.ts', 2);
    expect(code, output).toBe(0);
    expect(output).toContain('built 4 cubes');
    const worldId = output.match(/viewer\?world=([0-9a-f-]{36})/)?.[1];
    expect(worldId, output).toBeDefined();
    const objects = [...(node.node.store.get(worldId as string)?.objects.values() ?? [])].filter(
      (o) => o.id !== worldId && !o.removed,
    );
    expect(objects.map((o) => o.name).sort()).toEqual(['level 1', 'level 2', 'level 3', 'level 4']);
    // The top cube was dragged away from where REST put it (x = 7.5, y = 3) along x.
    const top = objects.find((o) => o.name === 'level 4');
    expect(top?.transform.position.y).toBe(3);
    expect(top?.transform.position.x).not.toBe(7.5);
    expect(output).toContain('builder stopped');
  }, 30_000);
});

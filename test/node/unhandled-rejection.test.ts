/**
 * A promise rejected with no handler (a bug somewhere in a request's path) does not end a running node:
 * the node started as `odyssey-node start` logs it as an error and goes on serving. The rejection is
 * planted by a module loaded with --import into the real node process, once the node answers /health.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, type NodeProcess, prepareNode, waitFor } from '../support/federation.ts';

// Planted on a signal sent once the node answers /health: a timer would race the node's start (which takes
// seconds on a loaded machine, and the handler is installed only once the node runs).
const PLANT = `data:text/javascript,process.on('SIGUSR2', () => { Promise.reject(new Error('planted rejection')); });`;
let node: NodeProcess | undefined;

afterAll(async () => {
  if (node) await cleanup([node]);
});

describe('an unhandled rejection in a running node', () => {
  it('is logged as an error and the node keeps serving', async () => {
    node = await prepareNode('unhandled', ['--import', PLANT]);
    await node.start(['--log-format', 'json']);
    node.child?.kill('SIGUSR2');
    const logs = () => (node as NodeProcess).logs.join('');
    await waitFor(() => logs().includes('planted rejection'), 60_000, 'the planted rejection');
    await new Promise((r) => setTimeout(r, 500));
    const line = logs()
      .split('\n')
      .find((l) => l.includes('planted rejection'));
    // Without the handler the process prints the stack and exits 1: no JSON line, no /health.
    expect(JSON.parse(line as string)).toMatchObject({
      level: 50,
      msg: 'unhandled promise rejection (a bug): logged, the node keeps serving',
      err: { message: 'planted rejection' },
    });
    expect((await fetch(`${node.url}/health`)).ok).toBe(true);
    expect(node.child?.exitCode).toBeNull();
  }, 120_000);
});

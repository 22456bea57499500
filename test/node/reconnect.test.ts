import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { connectGuest, startNode, type TestClient, type TestNode } from '../support/node.ts';

describe('SDK reconnect against the real node', () => {
  let node: TestNode | undefined;
  let c: TestClient | undefined;
  afterEach(async () => {
    await c?.client.close();
    await node?.cleanup();
  });

  it('comes back after a node restart: re-handshakes with the same session and re-enters its world', async () => {
    node = await startNode({ tickMs: 20 });
    const port = Number(new URL(node.url).port);
    c = await connectGuest(node, { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    await c.client.teleport(DEFAULT_WORLD_ID);
    const sessionId = c.client.sessionId;

    const closed = c.client.next('close', { timeoutMs: 5000 });
    const reentered = c.client.next('SetWorld', { timeoutMs: 15_000 });
    node = await node.restart({ port });
    expect((await closed).code).toBe(1001);
    expect((await reentered).id).toBe(DEFAULT_WORLD_ID);
    expect(c.client.sessionId).toBe(sessionId);
    expect(node.node.worlds.roomOf(c.user.id)?.worldId).toBe(DEFAULT_WORLD_ID);
  });
});

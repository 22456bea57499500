/**
 * People across nodes, with real node processes and real PosBus clients: a person on A and one on B in
 * the same world see each other enter, move and leave, high-five each other, race for one lock (exactly
 * one wins on both nodes), teleport into a world only the other node holds, and vanish with their node.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LockObjectResponse, Message } from '../../protocol/posbus/index.ts';
import { cleanup, federationFlags, type NodeProcess, prepareNode, waitFor } from '../support/federation.ts';
import { call } from '../support/http.ts';
import { connectGuest, joinWorld, type TestClient } from '../support/node.ts';
import { ethSigner, tokenFor } from '../support/sign-in.ts';

const DEFAULT_WORLD = '5e1f0d2c-7a41-4c39-9b1e-0d0000000001';
const RED_CUBE = '5e1f0d2c-7a41-4c39-9b1e-0d0000000101';

let A: NodeProcess;
let B: NodeProcess;
const clients: TestClient[] = [];

beforeAll(async () => {
  [A, B] = await Promise.all([prepareNode('a'), prepareNode('b')]);
  await Promise.all([A, B].map((n) => n.start(federationFlags(n, [A, B]))));
  await waitFor(async () => {
    const health = (await (await fetch(`${B.url}/health`)).json()) as { p2p: { peers: string[] } };
    return health.p2p.peers.includes(A.peerId);
  });
}, 60_000);

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close()));
});

afterAll(async () => {
  await cleanup([A, B]);
}, 60_000);

const has = (c: TestClient, match: (m: Message) => boolean) => c.received.some(match);
const sees = (c: TestClient, userId: string) =>
  has(c, (m) => m.type === 'AddUsers' && m.users.some((u) => u.id === userId));

async function meet(): Promise<[TestClient, TestClient]> {
  const a = await joinWorld(A, clients, DEFAULT_WORLD);
  const b = await joinWorld(B, clients, DEFAULT_WORLD);
  await waitFor(() => sees(a, b.user.id) && sees(b, a.user.id), 10_000, 'each to see the other');
  return [a, b];
}

describe('people across nodes', () => {
  it('see each other enter, move and leave, and high-five across nodes', async () => {
    const [a, b] = await meet();
    const added = b.received.find((m) => m.type === 'AddUsers' && m.users.some((u) => u.id === a.user.id));
    expect(added?.type === 'AddUsers' && added.users.find((u) => u.id === a.user.id)?.isGuest).toBe(true);

    a.client.send({ type: 'MyTransform', position: { x: 3, y: 1, z: 4 }, rotation: { x: 0, y: 0.5, z: 0 } });
    await waitFor(
      () =>
        has(
          b,
          (m) =>
            m.type === 'UsersTransformList' &&
            m.value.some(
              (u) => u.id === a.user.id && u.transform.position.x === 3 && u.transform.position.z === 4,
            ),
        ),
      5000,
      "A's move on B",
    );

    a.client.send({ type: 'HighFive', senderId: a.user.id, receiverId: b.user.id, message: 'hi from A' });
    await waitFor(
      () => has(b, (m) => m.type === 'HighFive' && m.senderId === a.user.id && m.message === 'hi from A'),
      5000,
      'the high-five on B',
    );

    await a.client.close();
    await waitFor(
      () => has(b, (m) => m.type === 'RemoveUsers' && m.users.includes(a.user.id)),
      5000,
      "A's leave on B",
    );
  }, 30_000);

  it('two people on two nodes race for one lock: exactly one holds it on both nodes', async () => {
    const [a, b] = await meet();
    a.client.send({ type: 'LockObject', id: RED_CUBE });
    b.client.send({ type: 'LockObject', id: RED_CUBE });
    const locks = (c: TestClient) =>
      c.received.filter((m): m is LockObjectResponse => m.type === 'LockObjectResponse' && m.id === RED_CUBE);
    // Both clients end with the same holder, and the loser was told it failed.
    let winner = '';
    await waitFor(
      () => {
        const lastA = locks(a).at(-1);
        const lastB = locks(b).at(-1);
        if (!lastA || !lastB || lastA.lockOwner !== lastB.lockOwner) return false;
        winner = lastA.lockOwner;
        const loser = winner === a.user.id ? b : a;
        return locks(loser).some((r) => r.result === 0);
      },
      10_000,
      'one lock holder on both nodes',
    );
    expect([a.user.id, b.user.id]).toContain(winner);
    const loser = winner === a.user.id ? b : a;
    // A second try by the loser fails, on its own node, naming the winner.
    const before = locks(loser).length;
    loser.client.send({ type: 'LockObject', id: RED_CUBE });
    await waitFor(() => locks(loser).length > before, 5000, 'the retry answer');
    expect(locks(loser).at(-1)).toMatchObject({ result: 0, lockOwner: winner });
  }, 30_000);

  it('a teleport into a world only the other node holds mirrors it and enters', async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const made = await call<{ id: string }>(A, 'POST', '/api/v4/worlds', {
      token: await tokenFor(A, owner.address, ethSigner(owner)),
      body: { name: 'Only on A' },
    });
    expect(made.status).toBe(201);
    const visitor = await connectGuest(B);
    clients.push(visitor);
    // B learns of the world from A's announcements (every 300 ms here).
    await waitFor(
      async () => {
        try {
          const world = await visitor.client.teleport(made.body.id, { timeoutMs: 2000 });
          return world.id === made.body.id;
        } catch {
          return false;
        }
      },
      10_000,
      'the teleport on B',
    );
    expect(visitor.client.world?.name).toBe('Only on A');
  }, 30_000);

  it('a node that vanishes takes its people with it', async () => {
    const [a, b] = await meet();
    A.child?.kill('SIGKILL');
    await waitFor(
      () => has(b, (m) => m.type === 'RemoveUsers' && m.users.includes(a.user.id)),
      10_000,
      "A's people to leave B",
    );
  }, 30_000);
});

/**
 * One world across nodes, with real node processes on loopback: A, B and C trust each other (C mirrors
 * everything, B on demand), edits made on any node reach all through gossip and world sync, concurrent
 * edits resolve alike everywhere, a node that was down (or cut off while it was edited) catches up, and
 * neither an untrusted node nor a user without rights changes anything on the others.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  federationFlags,
  isRunning,
  type NodeProcess,
  prepareNode,
  waitFor,
} from '../support/federation.ts';
import { call } from '../support/http.ts';
import { ethSigner, tokenFor } from '../support/sign-in.ts';

const API = '/api/v4';
const CUSTOM_TYPE = '4ed3a5bb-53f8-4511-941b-07902982c31c';
const CUBE_ASSET = '5b5bd872-0328-e38c-1b54-bf2bfa70fc85';
const RED_CUBE = '5e1f0d2c-7a41-4c39-9b1e-0d0000000101';

const owner = privateKeyToAccount(generatePrivateKey());
/** Node admin of every node (by wallet): may mirror. */
const operator = privateKeyToAccount(generatePrivateKey());
/** Node admin of B only: B lets them edit anything, the others do not. */
const localAdmin = privateKeyToAccount(generatePrivateKey());

let A: NodeProcess;
let B: NodeProcess;
let C: NodeProcess;
let D: NodeProcess | undefined;
const tokens = new Map<string, string>();

async function tokenOf(node: NodeProcess, account: typeof owner): Promise<string> {
  const k = `${node.name}:${account.address}`;
  let token = tokens.get(k);
  if (!token) {
    token = await tokenFor(node, account.address, ethSigner(account));
    tokens.set(k, token);
  }
  return token;
}

/** The object's name on a node (its tree view carries it), undefined when the node does not have it. */
const nameOf = async (node: NodeProcess, id: string): Promise<string | undefined> => {
  const res = await call<{ name: string }>(node, 'GET', `${API}/objects/${id}/tree`, {
    token: await tokenOf(node, owner),
  });
  return res.status === 200 ? res.body.name : undefined;
};

async function createObject(node: NodeProcess, parent: string, name: string): Promise<string> {
  const res = await call<{ object_id: string }>(node, 'POST', `${API}/objects`, {
    token: await tokenOf(node, owner),
    body: { object_name: name, parent_id: parent, object_type_id: CUSTOM_TYPE, asset_3d_id: CUBE_ASSET },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.object_id;
}

async function rename(node: NodeProcess, id: string, name: string, who = owner): Promise<number> {
  const res = await call(node, 'PATCH', `${API}/objects/${id}`, {
    token: await tokenOf(node, who),
    body: { object_name: name },
  });
  return res.status;
}

/** Starts those of A, B and C not running, and waits until each is connected to the other two. */
async function startAll(): Promise<void> {
  const nodes = [A, B, C];
  await Promise.all(nodes.filter((n) => !isRunning(n)).map((n) => n.start(flagsOf(n))));
  await waitFor(
    async () => {
      for (const n of nodes) {
        const health = (await (await fetch(`${n.url}/health`)).json()) as { p2p: { peers: string[] } };
        if (health.p2p.peers.length < 2) return false;
      }
      return true;
    },
    20_000,
    'a connected federation',
  );
}

function flagsOf(n: NodeProcess): string[] {
  const admins = n === B ? `${operator.address},${localAdmin.address}` : operator.address;
  return [...federationFlags(n, [A, B, C]), '--admins', admins, ...(n === C ? ['--replicate', 'all'] : [])];
}

beforeAll(async () => {
  [A, B, C] = await Promise.all([prepareNode('a'), prepareNode('b'), prepareNode('c')]);
  await startAll();
}, 60_000);

afterAll(async () => {
  await cleanup([A, B, C, ...(D ? [D] : [])]);
}, 60_000);

describe('one world on three nodes', () => {
  let world: string;
  let lamp: string;

  it('a world made on A is mirrored by C (replicate all) and by B on demand; edits on each reach all', async () => {
    const made = await call<{ id: string }>(A, 'POST', `${API}/worlds`, {
      token: await tokenOf(A, owner),
      body: { name: 'Federated' },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    world = made.body.id;
    await waitFor(async () => (await nameOf(C, world)) === 'Federated', 15_000, 'C to mirror the world');
    expect(await nameOf(B, world)).toBeUndefined();
    // B does not hold it, yet lists it with the nodes that do.
    await waitFor(
      async () => {
        const list = await call<{ id: string; nodes: string[] }[]>(B, 'GET', `${API}/worlds`, {
          token: await tokenOf(B, owner),
        });
        return list.body.some((w) => w.id === world && w.nodes.includes(A.peerId));
      },
      10_000,
      "A's world in B's list",
    );

    const refused = await call(B, 'POST', `${API}/federation/mirrors`, {
      token: await tokenOf(B, owner),
      body: { world_id: world },
    });
    expect(refused.status).toBe(403);
    const mirrored = await call(B, 'POST', `${API}/federation/mirrors`, {
      token: await tokenOf(B, operator),
      body: { world_id: world },
    });
    expect(mirrored.status, JSON.stringify(mirrored.body)).toBe(200);
    expect(await nameOf(B, world)).toBe('Federated');

    // The owner is the same user on every node (the id comes from the wallet): B lets them build.
    lamp = await createObject(B, world, 'Lamp');
    for (const n of [A, C])
      await waitFor(async () => (await nameOf(n, lamp)) === 'Lamp', 10_000, `Lamp on ${n.name}`);
    expect(await rename(C, lamp, 'Lamp from C')).toBe(200);
    for (const n of [A, B]) {
      await waitFor(async () => (await nameOf(n, lamp)) === 'Lamp from C', 10_000, `rename on ${n.name}`);
    }
  }, 60_000);

  it('concurrent edits to one field end the same on every node', async () => {
    const statuses = await Promise.all([rename(A, lamp, 'From A'), rename(B, lamp, 'From B')]);
    expect(statuses).toEqual([200, 200]);
    let names: (string | undefined)[] = [];
    await waitFor(
      async () => {
        names = await Promise.all([A, B, C].map((n) => nameOf(n, lamp)));
        return names.every((x) => x === names[0]);
      },
      15_000,
      'the nodes to agree',
    );
    expect(['From A', 'From B']).toContain(names[0]);
  }, 30_000);

  it('a node that was down, and one that was edited while cut off, catch up after they return', async () => {
    await Promise.all([B.stop(), C.stop()]);
    const shelf = await createObject(A, world, 'Shelf');
    // B alone: no bootstrap, and nobody else up to dial it.
    await B.start(flagsOf(B).filter((f, i, all) => f !== '--bootstrap' && all[i - 1] !== '--bootstrap'));
    expect(await nameOf(B, shelf)).toBeUndefined();
    expect(await rename(B, lamp, 'Edited on B, offline')).toBe(200);
    await B.stop();
    await startAll();
    for (const n of [A, B, C]) {
      await waitFor(async () => (await nameOf(n, shelf)) === 'Shelf', 20_000, `Shelf on ${n.name}`);
      await waitFor(
        async () => (await nameOf(n, lamp)) === 'Edited on B, offline',
        20_000,
        `B's offline edit on ${n.name}`,
      );
    }
  }, 90_000);

  it('an op by a user without rights elsewhere changes nothing on the other nodes, now or after sync', async () => {
    // B's own admin may rename the owner's lamp on B; A and C refuse the op (node admins are local).
    expect(await rename(B, lamp, 'Hijacked', localAdmin)).toBe(200);
    expect(await nameOf(B, lamp)).toBe('Hijacked');
    await waitFor(
      async () => {
        const res = await call<{ peerId: string; reasons: Record<string, number> }[]>(
          A,
          'GET',
          `${API}/federation/peers`,
          { token: await tokenOf(A, operator) },
        );
        const b = res.body.find((p) => p.peerId === B.peerId);
        return (b?.reasons.not_allowed ?? 0) > 0;
      },
      10_000,
      "A to count B's refused op",
    );
    // Two sync rounds later the other nodes still have the owner's name.
    await new Promise((r) => setTimeout(r, 3500));
    for (const n of [A, C]) expect(await nameOf(n, lamp)).toBe('Edited on B, offline');
  }, 30_000);

  it("an untrusted node's ops are refused and counted, and change nothing", async () => {
    D = await prepareNode('d');
    const dAdmin = privateKeyToAccount(generatePrivateKey());
    // D trusts A and dials it; nobody trusts D.
    await D.start([...federationFlags(D, [A, D], [A, D]), '--admins', dAdmin.address]);
    await waitFor(async () => {
      const health = (await (await fetch(`${D?.url}/health`)).json()) as { p2p: { peers: string[] } };
      return health.p2p.peers.includes(A.peerId);
    });
    const before = await Promise.all([A, B, C].map((n) => nameOf(n, RED_CUBE)));
    expect(await rename(D, RED_CUBE, 'Painted by D', dAdmin)).toBe(200);
    await waitFor(
      async () => {
        const res = await call<{ peerId: string; reasons: Record<string, number> }[]>(
          A,
          'GET',
          `${API}/federation/peers`,
          { token: await tokenOf(A, operator) },
        );
        const d = res.body.find((p) => p.peerId === D?.peerId);
        return (d?.reasons.untrusted ?? 0) > 0;
      },
      10_000,
      "A to count D's untrusted gossip",
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(await Promise.all([A, B, C].map((n) => nameOf(n, RED_CUBE)))).toEqual(before);
  }, 40_000);
});

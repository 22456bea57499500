/** Users, worlds, objects and PosBus visitors for the worlds and objects API suites. */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { OBJECT_TYPES } from '../../node/world/seed.ts';
import { call } from '../support/http.ts';
import { connectGuest, type Guest, type TestClient, type TestNode } from '../support/node.ts';

export const CUSTOM_TYPE = OBJECT_TYPES.custom.id;
export const CUBE_ASSET = '5b5bd872-0328-e38c-1b54-bf2bfa70fc85';
const v = (x: number, y: number, z: number) => ({ x, y, z });
/** Values exact in float32, so they survive the PosBus round trip unchanged. */
export const AT = (x: number) => ({ position: v(x, 1, -4), rotation: v(0, 90, 0), scale: v(2, 2, 2) });

export interface SignedIn extends Guest {
  wallet: string;
}

export const randomWallet = () => `0x${randomBytes(20).toString('hex')}`;

/** A normal (non-guest) user signed in with an EVM wallet, and a token for it. */
export async function walletUser(node: TestNode, wallet = randomWallet()): Promise<SignedIn> {
  const { user } = await node.node.users.walletUser(wallet);
  return { id: user.id, name: user.name, token: await node.node.tokens.issue(user.id), wallet };
}

export async function createWorld(node: TestNode, token: string, name = 'Atlantis'): Promise<string> {
  const res = await call<{ id: string }>(node, 'POST', '/api/v4/worlds', { token, body: { name } });
  expect(res.status).toBe(201);
  return res.body.id;
}

export async function createObject(
  node: TestNode,
  token: string,
  parentId: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await call<{ object_id: string }>(node, 'POST', '/api/v4/objects', {
    token,
    body: { object_name: 'Lamp', parent_id: parentId, object_type_id: CUSTOM_TYPE, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.object_id;
}

/** An SDK client (a fresh guest unless `user` is given) that has fully entered the world. */
export async function enter(node: TestNode, worldId: string, user?: Guest): Promise<TestClient> {
  const c = await connectGuest(node, {}, user);
  // The entry ends with everyone's AddUsers, the newcomer included: after it, every message is news.
  const entered = c.client.next('AddUsers', { filter: (m) => m.users.some((u) => u.id === c.user.id) });
  await c.client.teleport(worldId);
  await entered;
  return c;
}

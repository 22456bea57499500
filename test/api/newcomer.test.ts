/**
 * A newcomer's first minute, as one story: what the reference client (and the original's load test) does
 * from a cold start to standing in a world.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { UserDto } from '../../api/dto.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { connect } from '../../protocol/client/index.ts';
import { call, type Reply, reason } from '../support/http.ts';
import { startNode, type TestNode } from '../support/node.ts';

let node: TestNode;
beforeAll(async () => {
  node = await startNode();
});
afterAll(() => node.cleanup());

/** A route that is not there (yet) answers the app's catch-all 404 `not_found`. */
const missing = (res: Reply<unknown>) => res.status === 404 && reason(res) === 'not_found';

it('walks a newcomer from /version into a world, by REST and PosBus', async () => {
  const version = await call<{ api: { major: number } }>(node, 'GET', '/version');
  expect(version.status).toBe(200);
  const api = `/api/v${version.body.api.major}`;
  expect(api).toBe('/api/v4');

  const guest = await call<UserDto & { token: string }>(node, 'POST', `${api}/auth/guest-token`, {
    body: {},
  });
  expect(guest.status).toBe(200);
  expect(guest.body).toMatchObject({ isGuest: true, name: expect.stringMatching(/^Visitor_\d{7}$/) });
  const { token, id } = guest.body;

  const me = await call<UserDto>(node, 'GET', `${api}/users/me`, { token });
  expect(me.status).toBe(200);
  expect(me.body.id).toBe(id);

  const config = await call<Record<string, unknown>>(node, 'GET', `${api}/config/ui-client`);
  expect(config.status).toBe(200);
  expect(config.body.NODE_ID).toEqual(expect.any(String));

  // The world list; until the worlds routes are mounted, the seeded default world stands in for it.
  const worlds = await call<{ id: string; name: string }[]>(node, 'GET', `${api}/worlds`, { token });
  let worldId = DEFAULT_WORLD_ID;
  if (!missing(worlds)) {
    expect(worlds.status).toBe(200);
    expect(worlds.body.map((w) => w.id)).toContain(DEFAULT_WORLD_ID);
    worldId = worlds.body.find((w) => w.id === DEFAULT_WORLD_ID)?.id ?? worlds.body[0].id;
  }

  const onlineUsers = () => call<UserDto[]>(node, 'GET', `${api}/worlds/${worldId}/online-users`, { token });
  const before = await onlineUsers();
  const hasOnlineUsers = !missing(before);
  if (hasOnlineUsers) {
    expect(before.status).toBe(200);
    expect(before.body.map((u) => u.id)).not.toContain(id);
  }

  const client = await connect(node.wsUrl, { token, userId: id, reconnect: false });
  try {
    const seen = client.next('AddUsers', { filter: (m) => m.users.some((u) => u.id === id) });
    const world = await client.teleport(worldId);
    expect(world.id).toBe(worldId);
    expect(world.name).toBe('Odyssey Plaza');
    const users = await seen;
    expect(users.users.find((u) => u.id === id)?.name).toBe(guest.body.name);
    if (hasOnlineUsers) {
      const after = await onlineUsers();
      expect(after.status).toBe(200);
      expect(after.body.map((u) => u.id)).toContain(id);
    }
  } finally {
    await client.close();
  }
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CORE_PLUGIN_ID } from '../../node/world/render.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import { call, type ErrorBody, reason } from '../support/http.ts';
import { guest, sleep, startNode, type TestClient, type TestNode } from '../support/node.ts';
import { createObject, createWorld, enter, randomWallet, walletUser } from './world-fixtures.ts';

interface World {
  id: string;
  owner_id: string;
  owner_name: string | null;
  name: string;
  description: string | null;
  website_link: string | null;
  stake_total: string;
  is_admin?: boolean;
}

describe('worlds API', () => {
  const adminWallet = randomWallet();
  let node: TestNode;
  const clients: TestClient[] = [];

  beforeEach(async () => {
    node = await startNode({ tickMs: 20, admins: adminWallet });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node.cleanup();
  });

  it('a signed-in user creates a world: listed, detailed, owned, and persisted', async () => {
    const owner = await walletUser(node);
    const stranger = await walletUser(node);
    const created = await call<World>(node, 'POST', '/api/v4/worlds', {
      token: owner.token,
      body: { name: 'Atlantis', description: 'Under the sea', website_link: 'https://example.org/atlantis' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body).toMatchObject({
      owner_id: owner.id,
      owner_name: owner.name,
      name: 'Atlantis',
      description: 'Under the sea',
      website_link: 'https://example.org/atlantis',
      stake_total: '0',
      stakers: [],
      is_admin: true,
    });

    const list = await call<World[]>(node, 'GET', '/api/v4/worlds', { token: stranger.token });
    expect(list.status).toBe(200);
    expect(list.body.map((w) => w.id)).toEqual([id, DEFAULT_WORLD_ID]);
    expect(list.body[1]).toMatchObject({ name: 'Odyssey Plaza', owner_name: null, description: null });

    const asStranger = await call<World>(node, 'GET', `/api/v4/worlds/${id}`, { token: stranger.token });
    expect(asStranger.body).toMatchObject({ id, owner_name: owner.name, is_admin: false });
    expect(Date.parse((asStranger.body as unknown as { createdAt: string }).createdAt)).toBeGreaterThan(0);

    const owned = await call<World[]>(node, 'GET', `/api/v4/users/${owner.id}/worlds`, {
      token: stranger.token,
    });
    expect(owned.body).toEqual([
      {
        id,
        owner_id: owner.id,
        owner_name: owner.name,
        name: 'Atlantis',
        description: 'Under the sea',
        website_link: 'https://example.org/atlantis',
        avatarHash: null,
      },
    ]);
    const none = await call(node, 'GET', `/api/v4/users/${stranger.id}/worlds`, { token: owner.token });
    expect(none.body).toEqual([]);
    const unknown = await call(node, 'GET', `/api/v4/users/${crypto.randomUUID()}/worlds`, {
      token: owner.token,
    });
    expect([unknown.status, reason(unknown)]).toEqual([404, 'user_not_found']);

    // The description is the world's core `description` attribute, where the original's UI edits it.
    const state = node.node.store.get(id);
    expect(state?.attributes.get(`${id}!${CORE_PLUGIN_ID}!description`)?.value).toEqual({
      description: 'Under the sea',
    });

    node = await node.restart();
    const again = await call<World>(node, 'GET', `/api/v4/worlds/${id}`, { token: owner.token });
    expect(again.body).toMatchObject({ id, name: 'Atlantis', description: 'Under the sea', is_admin: true });
  });

  it('guests never create worlds; users only when worldCreation=users; node admins always', async () => {
    const visitor = await guest(node);
    const refused = await call(node, 'POST', '/api/v4/worlds', {
      token: visitor.token,
      body: { name: 'Mine' },
    });
    expect([refused.status, reason(refused)]).toEqual([403, 'world_creation_not_permitted']);
    const user = await walletUser(node);
    await createWorld(node, user.token);
    expect(node.node.store.worldIds()).toHaveLength(2);

    node = await node.restart({ worldCreation: 'admins' });
    const notAdmin = await call(node, 'POST', '/api/v4/worlds', {
      token: user.token,
      body: { name: 'Second' },
    });
    expect([notAdmin.status, reason(notAdmin)]).toEqual([403, 'world_creation_not_permitted']);
    expect(node.node.store.worldIds()).toHaveLength(2);
    const admin = await walletUser(node, adminWallet);
    await createWorld(node, admin.token, 'Admin world');
    expect(node.node.store.worldIds()).toHaveLength(3);
  });

  it('PATCH edits name, description and website link, for admins of the world only', async () => {
    const owner = await walletUser(node);
    const id = await createWorld(node, owner.token);
    const before = await call<World>(node, 'GET', `/api/v4/worlds/${id}`, { token: owner.token });

    const stranger = await walletUser(node);
    const visitor = await guest(node);
    for (const token of [stranger.token, visitor.token]) {
      const res = await call(node, 'PATCH', `/api/v4/worlds/${id}`, { token, body: { name: 'Taken' } });
      expect([res.status, reason(res)]).toEqual([403, 'not_admin']);
    }
    const unchanged = await call<World>(node, 'GET', `/api/v4/worlds/${id}`, { token: owner.token });
    expect(unchanged.body).toEqual(before.body);

    const patch = { name: 'Lemuria', description: 'Sunken', website_link: 'https://lemuria.example' };
    const ok = await call(node, 'PATCH', `/api/v4/worlds/${id}`, { token: owner.token, body: patch });
    expect([ok.status, ok.body]).toEqual([200, null]);
    const after = await call<World>(node, 'GET', `/api/v4/worlds/${id}`, { token: stranger.token });
    expect(after.body).toMatchObject({
      name: 'Lemuria',
      description: 'Sunken',
      website_link: patch.website_link,
    });

    // A node admin may edit any world; '' clears the link.
    const admin = await walletUser(node, adminWallet);
    await call(node, 'PATCH', `/api/v4/worlds/${id}`, { token: admin.token, body: { website_link: '' } });
    const cleared = await call<World>(node, 'GET', `/api/v4/worlds/${id}`, { token: owner.token });
    expect(cleared.body).toMatchObject({ name: 'Lemuria', website_link: null });

    const objectId = await createObject(node, owner.token, id);
    for (const target of [objectId, crypto.randomUUID()]) {
      const res = await call(node, 'PATCH', `/api/v4/worlds/${target}`, {
        token: owner.token,
        body: { name: 'X' },
      });
      expect([res.status, reason(res)]).toEqual([404, 'world_not_found']);
      const got = await call(node, 'GET', `/api/v4/worlds/${target}`, { token: owner.token });
      expect([got.status, reason(got)]).toEqual([404, 'world_not_found']);
    }
  });

  it('validation errors name the field, and limit is bounded', async () => {
    const user = await walletUser(node);
    const token = user.token;
    const message = async (method: string, path: string, body?: unknown) => {
      const res = await call<ErrorBody>(node, method, path, { token, body });
      expect([res.status, reason(res)]).toEqual([400, 'invalid_request']);
      return res.body.error.message;
    };
    expect(await message('POST', '/api/v4/worlds', { name: '  ' })).toMatch(/^body\.name: /);
    expect(
      await message('POST', '/api/v4/worlds', { name: 'A', website_link: 'javascript:alert(1)' }),
    ).toMatch(/^body\.website_link: /);
    expect(await message('PATCH', `/api/v4/worlds/${DEFAULT_WORLD_ID}`, { owner_id: user.id })).toMatch(
      /^body/,
    );
    expect(await message('GET', '/api/v4/worlds?limit=101')).toMatch(/^query\.limit: /);
    expect(await message('GET', '/api/v4/worlds?limit=0')).toMatch(/^query\.limit: /);
    expect(await message('GET', '/api/v4/worlds?limit=1%3BDROP')).toMatch(/^query\.limit: /);
    expect(await message('GET', '/api/v4/worlds?sort=UP')).toMatch(/^query\.sort: /);
    expect(await message('GET', '/api/v4/worlds/not-a-uuid')).toMatch(/^param\.objectID: /);
    expect(node.node.store.worldIds()).toEqual([DEFAULT_WORLD_ID]);

    await createWorld(node, token, 'Newer');
    const one = await call<World[]>(node, 'GET', '/api/v4/worlds?limit=1&sort=ASC', { token });
    expect(one.body.map((w) => w.id)).toEqual([DEFAULT_WORLD_ID]);
    const anonymous = await call(node, 'GET', '/api/v4/worlds');
    expect([anonymous.status, reason(anonymous)]).toEqual([401, 'failed_to_verify_access_token']);
  });

  it('online-users lists the users in the world right now', async () => {
    const owner = await walletUser(node);
    const id = await createWorld(node, owner.token);
    const online = () =>
      call<{ id: string; isGuest: boolean }[]>(node, 'GET', `/api/v4/worlds/${id}/online-users`, {
        token: owner.token,
      });
    expect((await online()).body).toEqual([]);

    const visitor = await enter(node, id);
    clients.push(visitor);
    const elsewhere = await enter(node, DEFAULT_WORLD_ID);
    clients.push(elsewhere);
    expect((await online()).body).toEqual([expect.objectContaining({ id: visitor.user.id, isGuest: true })]);

    await visitor.client.close();
    for (let tries = 0; (await online()).body.length > 0; tries++) {
      expect(tries, 'the visitor should have left').toBeLessThan(250);
      await sleep(20);
    }
    const missing = await call(node, 'GET', `/api/v4/worlds/${crypto.randomUUID()}/online-users`, {
      token: owner.token,
    });
    expect([missing.status, reason(missing)]).toEqual([404, 'world_not_found']);
  });
});

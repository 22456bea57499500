/**
 * Activities against a real node: timeline posts, edits and deletes with their permissions, the newsfeed,
 * paging, persistence, and the PosBus ActivityUpdate that people in the world receive.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CORE_PLUGIN_ID } from '../../node/world/render.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import type { MessageOf } from '../../protocol/posbus/index.ts';
import { call, type Reply, reason } from '../support/http.ts';
import {
  connectGuest,
  eventually,
  type Guest,
  guest,
  startNode,
  type TestClient,
  type TestNode,
} from '../support/node.ts';

interface Activity {
  activity_id: string;
  user_id: string;
  object_id: string;
  type: string;
  data: {
    position: { x: number; y: number; z: number } | null;
    description: string | null;
    hash: string | null;
    token_symbol: string | null;
    token_amount: string | null;
    bc_tx_hash: string | null;
    bc_log_index: string | null;
  };
  avatar_hash: string | null;
  world_name: string;
  world_avatar_hash: string | null;
  user_name: string;
  created_at: string;
}

interface Page {
  activities: Activity[];
  startIndex: number;
  pageSize: number;
  totalCount: number;
}

const RED_CUBE = '5e1f0d2c-7a41-4c39-9b1e-0d0000000101';
const HASH = 'd41d8cd98f00b204e9800998ecf8427e';
const timeline = (objectId: string) => `/api/v4/objects/${objectId}/timeline`;

function post(node: TestNode, who: Guest, objectId: string, body: unknown): Promise<Reply<Activity>> {
  return call<Activity>(node, 'POST', timeline(objectId), { token: who.token, body });
}

describe('activities', () => {
  let node: TestNode;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    node = await startNode({ authRequestsPerMinute: 100_000, activityPostsPerMinute: 100_000 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
  });
  afterAll(() => node.cleanup());

  async function inWorld(): Promise<TestClient> {
    const c = await connectGuest(node);
    clients.push(c);
    await c.client.teleport(DEFAULT_WORLD_ID);
    return c;
  }

  const updates = (c: TestClient) =>
    c.received.filter((m): m is MessageOf<'ActivityUpdate'> => m.type === 'ActivityUpdate');

  it('posts where the author stands, and tells everyone in the world with ActivityUpdate', async () => {
    const watcher = await inWorld();
    const author = await inWorld();
    author.client.send({
      type: 'MyTransform',
      position: { x: 12, y: 0, z: -3 },
      rotation: { x: 0, y: 0, z: 0 },
    });
    await eventually(
      () => node.node.worlds.roomOf(author.user.id)?.transformOf(author.user.id)?.position.x === 12,
      5000,
      'the author moved',
    );
    const res = await post(node, author.user, DEFAULT_WORLD_ID, {
      type: 'screenshot',
      hash: HASH,
      description: 'the plaza at noon',
    });
    expect(res.status).toBe(201);
    const activity = res.body;
    expect(activity).toMatchObject({
      user_id: author.user.id,
      object_id: DEFAULT_WORLD_ID,
      type: 'screenshot',
      data: {
        position: { x: 12, y: 0, z: -3 },
        description: 'the plaza at noon',
        hash: HASH,
        token_symbol: null,
        token_amount: null,
        bc_tx_hash: null,
        bc_log_index: null,
      },
      avatar_hash: null,
      world_name: 'Odyssey Plaza',
      world_avatar_hash: null,
      user_name: author.user.name,
    });
    expect(activity.activity_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(Date.parse(activity.created_at)).toBeGreaterThan(Date.now() - 60_000);

    for (const c of [watcher, author]) {
      await eventually(() => updates(c).length > 0, 5000, 'ActivityUpdate new');
      expect(updates(c)[0]).toEqual({
        type: 'ActivityUpdate',
        activityId: activity.activity_id,
        changeType: 'new',
        activityType: 'screenshot',
        data: {
          position: { x: 12, y: 0, z: -3 },
          description: 'the plaza at noon',
          hash: HASH,
          tokenSymbol: null,
          tokenAmount: null,
          bcTxHash: null,
          bcLogIndex: null,
        },
        userId: author.user.id,
        objectId: DEFAULT_WORLD_ID,
      });
    }

    const edited = await call<Activity>(
      node,
      'PATCH',
      `${timeline(DEFAULT_WORLD_ID)}/${activity.activity_id}`,
      {
        token: author.user.token,
        body: { description: 'the plaza at dusk', hash: '', type: '' },
      },
    );
    expect(edited.status).toBe(200);
    expect(edited.body.data).toMatchObject({ description: 'the plaza at dusk', hash: HASH });
    expect(edited.body.type).toBe('screenshot');
    await eventually(() => updates(watcher).length > 1, 5000, 'ActivityUpdate changed');
    expect(updates(watcher)[1]).toMatchObject({
      changeType: 'changed',
      data: { description: 'the plaza at dusk' },
    });

    const removed = await call(node, 'DELETE', `${timeline(DEFAULT_WORLD_ID)}/${activity.activity_id}`, {
      token: author.user.token,
    });
    expect(removed).toEqual({ status: 200, body: true });
    await eventually(() => updates(watcher).length > 2, 5000, 'ActivityUpdate removed');
    expect(updates(watcher)[2]).toMatchObject({
      activityId: activity.activity_id,
      changeType: 'removed',
      data: null,
      userId: author.user.id,
    });
    const gone = await call(node, 'GET', `${timeline(DEFAULT_WORLD_ID)}/${activity.activity_id}`, {
      token: author.user.token,
    });
    expect(gone.status).toBe(404);
    expect(reason(gone)).toBe('activity_not_found');
  });

  it('stores no position for an author who is not in that world', async () => {
    const author = await guest(node);
    const res = await post(node, author, DEFAULT_WORLD_ID, {
      type: 'video',
      hash: 'https://example.org/v.mp4',
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      position: null,
      description: null,
      hash: 'https://example.org/v.mp4',
    });
  });

  it('validates posts: known object, a client type, a hash', async () => {
    const author = await guest(node);
    const unknown = await post(node, author, '0f0f0f0f-0000-4000-8000-000000000000', {
      type: 'video',
      hash: HASH,
    });
    expect(unknown.status).toBe(404);
    expect(reason(unknown)).toBe('object_not_found');
    for (const body of [
      { type: 'stake', hash: HASH },
      { type: 'world_created', hash: HASH },
      { type: 'selfie', hash: HASH },
      { type: 'video' },
      { type: 'video', hash: '' },
      { type: 'video', hash: HASH, description: 'x'.repeat(2001) },
    ]) {
      const res = await post(node, author, DEFAULT_WORLD_ID, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(reason(res)).toBe('invalid_request');
    }
    expect((await post(node, author, 'not-a-uuid', { type: 'video', hash: HASH })).status).toBe(400);
    const anonymous = await call(node, 'POST', timeline(DEFAULT_WORLD_ID), {
      body: { type: 'video', hash: HASH },
    });
    expect(anonymous.status).toBe(401);
  });

  it('lets only the author edit, and the author or an object admin delete', async () => {
    const [author, stranger, admin] = await Promise.all([guest(node), guest(node), guest(node)]);
    await node.node.access.grant(DEFAULT_WORLD_ID, admin.id, 'test');
    const create = async () => (await post(node, author, RED_CUBE, { type: 'video', hash: HASH })).body;
    const path = (a: Activity) => `${timeline(RED_CUBE)}/${a.activity_id}`;

    const first = await create();
    const patchByStranger = await call(node, 'PATCH', path(first), {
      token: stranger.token,
      body: { description: 'mine now' },
    });
    expect(patchByStranger.status).toBe(403);
    expect(reason(patchByStranger)).toBe('operation_not_permitted');
    // Admins may delete but not edit someone else's words.
    expect(
      (await call(node, 'PATCH', path(first), { token: admin.token, body: { hash: HASH } })).status,
    ).toBe(403);
    const badType = await call(node, 'PATCH', path(first), { token: author.token, body: { type: 'stake' } });
    expect(badType.status).toBe(400);
    const retype = await call<Activity>(node, 'PATCH', path(first), {
      token: author.token,
      body: { type: 'screenshot' },
    });
    expect(retype.body.type).toBe('screenshot');

    const deleteByStranger = await call(node, 'DELETE', path(first), { token: stranger.token });
    expect(deleteByStranger.status).toBe(403);
    expect((await call(node, 'DELETE', path(first), { token: admin.token })).status).toBe(200);
    expect((await call(node, 'DELETE', path(first), { token: admin.token })).status).toBe(404);

    const second = await create();
    // The activity belongs to the cube: addressing it under another object finds nothing.
    const wrongObject = await call(node, 'GET', `${timeline(DEFAULT_WORLD_ID)}/${second.activity_id}`, {
      token: author.token,
    });
    expect(wrongObject.status).toBe(404);
    expect(
      (
        await call(node, 'DELETE', `${timeline(DEFAULT_WORLD_ID)}/${second.activity_id}`, {
          token: author.token,
        })
      ).status,
    ).toBe(404);
    expect((await call(node, 'DELETE', path(second), { token: author.token })).status).toBe(200);
  });

  it('shows names and images of the author and the world', async () => {
    const author = await guest(node);
    const avatarHash = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    expect(
      (
        await call(node, 'PATCH', '/api/v4/profile', {
          token: author.token,
          body: { profile: { avatarHash } },
        })
      ).status,
    ).toBe(200);
    const store = node.node.store;
    const worldAvatar = { render_hash: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' };
    await store.apply(
      store.attributeOp(
        DEFAULT_WORLD_ID,
        DEFAULT_WORLD_ID,
        CORE_PLUGIN_ID,
        'world_avatar',
        worldAvatar,
        'system',
      ),
    );
    const res = await post(node, author, RED_CUBE, { type: 'screenshot', hash: HASH });
    expect(res.body).toMatchObject({
      object_id: RED_CUBE,
      avatar_hash: avatarHash,
      user_name: author.name,
      world_name: 'Odyssey Plaza',
      world_avatar_hash: worldAvatar.render_hash,
    });
    await store.apply(
      store.attributeOp(DEFAULT_WORLD_ID, DEFAULT_WORLD_ID, CORE_PLUGIN_ID, 'world_avatar', null, 'system'),
    );
  });

  it('serves /objects/newsfeed as the newsfeed, not as an object', async () => {
    const visitor = await guest(node);
    const res = await call<Page>(node, 'GET', '/api/v4/objects/newsfeed?startIndex=0&pageSize=5', {
      token: visitor.token,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ startIndex: 0, pageSize: 5, totalCount: expect.any(Number) });
    expect(Array.isArray(res.body.activities)).toBe(true);
    expect((await call(node, 'GET', '/api/v4/objects/newsfeed')).status).toBe(401);
  });
});

describe('activity pages', () => {
  let node: TestNode;
  afterAll(() => node.cleanup());

  it('pages the newsfeed and timelines newest first, bounded, and keeps them across a restart', async () => {
    node = await startNode({ activityPostsPerMinute: 100_000 });
    const author = await guest(node);
    const posted: Activity[] = [];
    for (let i = 0; i < 7; i++) {
      const objectId = i % 2 ? RED_CUBE : DEFAULT_WORLD_ID;
      const res = await post(node, author, objectId, { type: 'video', hash: HASH, description: `#${i}` });
      expect(res.status).toBe(201);
      posted.push(res.body);
    }
    const newestFirst = posted.map((a) => a.activity_id).reverse();
    const page = async (path: string) => {
      const res = await call<Page>(node, 'GET', path, { token: author.token });
      expect(res.status, path).toBe(200);
      return res.body;
    };
    const feed = await page('/api/v4/objects/newsfeed?startIndex=0&pageSize=100');
    expect(feed.activities.map((a) => a.activity_id)).toEqual(newestFirst);
    expect(feed.totalCount).toBe(7);
    const middle = await page('/api/v4/objects/newsfeed?startIndex=2&pageSize=3');
    expect(middle).toMatchObject({ startIndex: 2, pageSize: 3, totalCount: 7 });
    expect(middle.activities.map((a) => a.activity_id)).toEqual(newestFirst.slice(2, 5));
    expect((await page('/api/v4/objects/newsfeed')).activities).toHaveLength(7);
    expect((await page('/api/v4/objects/newsfeed?startIndex=7&pageSize=10')).activities).toEqual([]);

    const world = await page(`${timeline(DEFAULT_WORLD_ID)}?startIndex=1&pageSize=2`);
    const worldIds = posted
      .filter((a) => a.object_id === DEFAULT_WORLD_ID)
      .map((a) => a.activity_id)
      .reverse();
    expect(world.totalCount).toBe(4);
    expect(world.activities.map((a) => a.activity_id)).toEqual(worldIds.slice(1, 3));
    const cube = await page(`${timeline(RED_CUBE)}?startIndex=0&pageSize=10`);
    expect(cube.totalCount).toBe(3);
    expect(cube.activities.every((a) => a.object_id === RED_CUBE)).toBe(true);
    const empty = await page(`${timeline('0f0f0f0f-0000-4000-8000-000000000000')}?startIndex=0&pageSize=10`);
    expect(empty).toMatchObject({ activities: [], totalCount: 0 });

    for (const query of ['pageSize=0', 'pageSize=101', 'startIndex=-1', 'startIndex=10001', 'pageSize=abc']) {
      const res = await call(node, 'GET', `/api/v4/objects/newsfeed?${query}`, { token: author.token });
      expect(res.status, query).toBe(400);
    }

    await call(node, 'DELETE', `${timeline(RED_CUBE)}/${posted[1].activity_id}`, { token: author.token });
    node = await node.restart();
    const relogged = await guest(node);
    const after = await call<Page>(node, 'GET', '/api/v4/objects/newsfeed?startIndex=0&pageSize=100', {
      token: relogged.token,
    });
    expect(after.body.totalCount).toBe(6);
    expect(after.body.activities.map((a) => a.activity_id)).toEqual(
      newestFirst.filter((id) => id !== posted[1].activity_id),
    );
    const cubeAfter = await call<Page>(node, 'GET', `${timeline(RED_CUBE)}?startIndex=0&pageSize=10`, {
      token: relogged.token,
    });
    expect(cubeAfter.body.totalCount).toBe(2);
  });

  it('rate-limits posts per user (429)', async () => {
    const limited = await startNode({ activityPostsPerMinute: 2 });
    try {
      const [a, b] = await Promise.all([guest(limited), guest(limited)]);
      const body = { type: 'video', hash: HASH };
      expect((await post(limited, a, DEFAULT_WORLD_ID, body)).status).toBe(201);
      expect((await post(limited, a, DEFAULT_WORLD_ID, body)).status).toBe(201);
      const third = await post(limited, a, DEFAULT_WORLD_ID, body);
      expect(third.status).toBe(429);
      expect(reason(third)).toBe('rate_limited');
      expect((await post(limited, b, DEFAULT_WORLD_ID, body)).status).toBe(201);
      // Reading is not limited.
      const feed = await call(limited, 'GET', '/api/v4/objects/newsfeed', { token: a.token });
      expect(feed.status).toBe(200);
    } finally {
      await limited.cleanup();
    }
  });
});

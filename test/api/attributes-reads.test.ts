/**
 * Reads across owners (subtree, every user, count, entries), publicize, and attribute changes reaching an
 * SDK client in the world over PosBus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import type { Message } from '../../protocol/posbus/index.ts';
import { reason } from '../support/http.ts';
import { connectGuest, eventually, sleep, type TestClient } from '../support/node.ts';
import { as, type Cast, CORE, CUBE, q, startCast } from './attributes-fixture.ts';

const CUBES = [CUBE, ...['102', '103', '104'].map((n) => `5e1f0d2c-7a41-4c39-9b1e-0d0000000${n}`)];

describe('attribute reads across owners', () => {
  let cast: Cast;
  beforeAll(async () => {
    cast = await startCast();
  });
  afterAll(() => cast.node.cleanup());

  it('attributes-with-children: the object and everything below it', async () => {
    const world = await as<Record<string, unknown>>(
      cast,
      'guest',
      'GET',
      `/objects/${DEFAULT_WORLD_ID}/attributes-with-children${q('object_color')}`,
    );
    expect(world.status).toBe(200);
    expect(Object.keys(world.body).sort()).toEqual([...CUBES].sort());
    const cube = await as(
      cast,
      'guest',
      'GET',
      `/objects/${CUBE}/attributes-with-children${q('object_color')}`,
    );
    expect(cube.body).toEqual({ [CUBE]: { value: '#e63946' } });
  });

  describe('every user on the node object (community skybox lists)', () => {
    const skyboxes = {
      owner: {
        h1: { name: 'Aurora', artist_name: 'ann', is_public: true },
        h2: { name: 'Dusk', is_public: false },
      },
      other: { h3: { name: 'Borealis', artist_name: 'bob', is_public: true }, note: 'not an entry' },
    };
    beforeAll(async () => {
      for (const who of ['owner', 'other'] as const) {
        const path = `/objects/${cast.nodeId}/${cast.id[who]}/attributes`;
        const body = { plugin_id: CORE, attribute_name: 'skybox_list', attribute_value: skyboxes[who] };
        expect((await as(cast, who, 'POST', path, body)).status).toBe(202);
      }
    });

    it('all-users/attributes and all-users/count', async () => {
      const all = await as(
        cast,
        'guest',
        'GET',
        `/objects/${cast.nodeId}/all-users/attributes${q('skybox_list')}`,
      );
      expect(all).toEqual({
        status: 200,
        body: { [cast.id.owner]: skyboxes.owner, [cast.id.other]: skyboxes.other },
      });
      const count = (since?: string) =>
        as(
          cast,
          'guest',
          'GET',
          `/objects/${cast.nodeId}/all-users/count${q('skybox_list')}${since ? `&since=${since}` : ''}`,
        );
      expect((await count()).body).toEqual({ count: 2 });
      expect((await count(new Date(Date.now() + 60_000).toISOString())).body).toEqual({ count: 0 });
      expect((await count('yesterday')).status).toBe(400);
    });

    it('entries: flattened, filtered, sorted, searched and paged', async () => {
      const entries = (query: string) =>
        as<{ count: number; limit: number; offset: number; items: Record<string, unknown>[] }>(
          cast,
          'guest',
          'GET',
          `/objects/${cast.nodeId}/all-users/attributes/${CORE}/skybox_list/entries?${query}`,
        );
      const all = await entries('order=name');
      expect(all.body.count).toBe(3);
      expect(all.body.items.map((i) => i.name)).toEqual(['Aurora', 'Borealis', 'Dusk']);
      expect(all.body.items[0]).toMatchObject({ _key: 'h1', _user: { user_id: cast.id.owner } });

      const publicOnes = await entries('fields[]=name&fields[]=is_public&is_public=true&order=-name&limit=1');
      expect(publicOnes.body).toEqual({
        count: 2,
        limit: 1,
        offset: 0,
        items: [
          {
            _key: 'h3',
            _user: { user_id: cast.id.other, profile: expect.objectContaining({ name: expect.any(String) }) },
            name: 'Borealis',
            is_public: true,
          },
        ],
      });
      expect((await entries('is_public=true&order=-name&limit=1&offset=1')).body.items[0]._key).toBe('h1');
      expect((await entries('q=DUSK')).body.items.map((i) => i._key)).toEqual(['h2']);
      expect((await entries('artist_name=bob')).body.count).toBe(1);
      const badFilter = await entries('a%21b=1');
      expect([badFilter.status, reason(badFilter)]).toEqual([400, 'invalid_request']);
    });
  });

  it('publicize: object admins open one attribute of one object to every user', async () => {
    const path = `/objects/${CUBE}/attributes`;
    const body = { plugin_id: CORE, attribute_name: 'object_effect', attribute_value: { value: 'glow' } };
    expect((await as(cast, 'guest', 'POST', path, body)).status).toBe(403);
    const refused = await as(cast, 'guest', 'POST', `${path}/publicize${q('object_effect')}`);
    expect([refused.status, reason(refused)]).toEqual([403, 'not_admin']);
    const opened = await as(cast, 'objectAdmin', 'POST', `${path}/publicize${q('object_effect')}`);
    expect(opened).toEqual({
      status: 200,
      body: {
        plugin_id: CORE,
        attribute_name: 'object_effect',
        options: { permissions: { read: 'any', write: 'user' } },
      },
    });
    expect((await as(cast, 'guest', 'POST', path, body)).status).toBe(202);
    // Only that object's attribute: the same type elsewhere keeps the type's permissions.
    const elsewhere = `/objects/${CUBES[1]}/attributes`;
    expect((await as(cast, 'guest', 'POST', elsewhere, body)).status).toBe(403);
  });
});

describe('attribute changes over PosBus', () => {
  let cast: Cast;
  let client: TestClient;
  beforeAll(async () => {
    cast = await startCast();
    client = await connectGuest(cast.node);
    await client.client.teleport(DEFAULT_WORLD_ID);
  });
  afterAll(async () => {
    await client.client.close();
    await cast.node.cleanup();
  });

  const post = (name: string, value: Record<string, unknown>) =>
    as(cast, 'objectAdmin', 'POST', `/objects/${CUBE}/attributes`, {
      plugin_id: CORE,
      attribute_name: name,
      attribute_value: value,
    });
  const changes = (name: string) =>
    client.received.filter(
      (m): m is Extract<Message, { type: 'AttributeValueChanged' }> =>
        m.type === 'AttributeValueChanged' && m.attributeName === name,
    );

  it('a type with posbus_auto arrives as AttributeValueChanged, on set, sub set and delete', async () => {
    const changed = client.client.next('AttributeValueChanged');
    expect((await post('soundtrack', { tracks: ['a.mp3'] })).status).toBe(202);
    expect(await changed).toMatchObject({
      pluginId: CORE,
      attributeName: 'soundtrack',
      changeType: 'attribute_changed',
      value: { tracks: ['a.mp3'] },
      targetId: CUBE,
    });
    const sub = client.client.next('AttributeValueChanged');
    const subBody = {
      plugin_id: CORE,
      attribute_name: 'soundtrack',
      sub_attribute_key: 'volume',
      sub_attribute_value: 0.5,
    };
    expect((await as(cast, 'objectAdmin', 'POST', `/objects/${CUBE}/attributes/sub`, subBody)).status).toBe(
      202,
    );
    expect((await sub).value).toEqual({ tracks: ['a.mp3'], volume: 0.5 });
    const removed = client.client.next('AttributeValueChanged');
    expect(
      (await as(cast, 'objectAdmin', 'DELETE', `/objects/${CUBE}/attributes${q('soundtrack')}`)).status,
    ).toBe(200);
    expect(await removed).toMatchObject({
      attributeName: 'soundtrack',
      changeType: 'attribute_removed',
      value: null,
    });
  });

  it('render data arrives as ObjectData only', async () => {
    const data = client.client.next('ObjectData');
    expect((await post('object_color', { value: '#abcdef' })).status).toBe(202);
    expect(await data).toEqual({
      type: 'ObjectData',
      id: CUBE,
      entries: { string: { object_color: '#abcdef' } },
    });
    // No value frame for a type without posbus_auto (nor for world_meta, which is neither).
    expect((await post('world_meta', { lod: [1] })).status).toBe(202);
    await sleep(100);
    expect(changes('object_color')).toEqual([]);
    expect(changes('world_meta')).toEqual([]);
  });

  it("a user attribute with posbus_auto `user` reaches the user's own session", async () => {
    const path = '/users/me/attributes';
    const body = { plugin_id: CORE, attribute_name: 'skybox_ai', attribute_value: { job: 'done' } };
    const mine = await call(client.user.token, path, body);
    expect(mine).toBe(202);
    await eventually(() => changes('skybox_ai').length === 1, 5000, 'skybox_ai change');
    expect(changes('skybox_ai')[0]).toMatchObject({ targetId: client.user.id, value: { job: 'done' } });
  });

  async function call(token: string, path: string, body: unknown): Promise<number> {
    const res = await fetch(`${cast.node.url}/api/v4${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return res.status;
  }
});

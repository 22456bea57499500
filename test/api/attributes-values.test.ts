/**
 * Attribute values over REST: whole values and sub values in every family, deletes with parameters in the
 * query or the body, validation naming the field, the size bound, route ordering, no secret anywhere, and
 * every write on disk before its response (a restart reads it back).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_VALUE_BYTES } from '../../node/attributes/values.ts';
import { reason } from '../support/http.ts';
import { as, type Cast, CORE, CUBE, q, startCast, type Who } from './attributes-fixture.ts';

/** One writable attribute per family, with who may write it. */
const FAMILY_TARGETS: { family: string; who: Who; path(c: Cast): string; name: string }[] = [
  { family: 'node', who: 'nodeAdmin', path: () => '/node/attributes', name: 'node_settings' },
  { family: 'object', who: 'objectAdmin', path: () => `/objects/${CUBE}/attributes`, name: 'world_meta' },
  {
    family: 'object-user',
    who: 'owner',
    path: (c) => `/objects/${CUBE}/${c.id.owner}/attributes`,
    name: 'skybox_list',
  },
  {
    family: 'user',
    who: 'owner',
    path: (c) => `/users/${c.id.owner}/attributes`,
    name: 'timeline_last_seen',
  },
  {
    family: 'user-user',
    who: 'owner',
    path: (c) => `/users/attributes/${c.id.owner}/${c.id.other}`,
    name: 'high_five',
  },
];
const subPath = (path: string) =>
  path.startsWith('/users/attributes/')
    ? path.replace('/users/attributes/', '/users/attributes/sub/')
    : `${path}/sub`;

describe('attribute values', () => {
  let cast: Cast;
  beforeAll(async () => {
    cast = await startCast();
  });
  afterAll(() => cast.node.cleanup());

  for (const t of FAMILY_TARGETS) {
    it(`${t.family}: value, sub values and deletes (query and body)`, async () => {
      const path = t.path(cast);
      const sub = subPath(path);
      const ref = { plugin_id: CORE, attribute_name: t.name };
      const set = await as(cast, t.who, 'POST', path, {
        ...ref,
        attribute_value: { a: 1, b: { c: [1, 'x'] } },
      });
      expect(set).toEqual({ status: 202, body: { a: 1, b: { c: [1, 'x'] } } });
      expect(await as(cast, t.who, 'GET', `${path}${q(t.name)}`)).toEqual({ status: 200, body: set.body });

      const setSub = await as(cast, t.who, 'POST', sub, {
        ...ref,
        sub_attribute_key: 'd',
        sub_attribute_value: null,
      });
      expect(setSub).toEqual({ status: 202, body: { d: null } });
      expect(await as(cast, t.who, 'GET', `${sub}${q(t.name, 'b')}`)).toEqual({
        status: 200,
        body: { b: { c: [1, 'x'] } },
      });
      expect((await as(cast, t.who, 'GET', `${path}${q(t.name)}`)).body).toEqual({
        a: 1,
        b: { c: [1, 'x'] },
        d: null,
      });

      // Sub delete with a JSON body, then the key is gone.
      expect(await as(cast, t.who, 'DELETE', sub, { ...ref, sub_attribute_key: 'b' })).toEqual({
        status: 200,
        body: null,
      });
      const gone = await as(cast, t.who, 'GET', `${sub}${q(t.name, 'b')}`);
      expect([gone.status, reason(gone)]).toEqual([404, 'attribute_value_not_found']);
      // Sub delete with the query.
      expect((await as(cast, t.who, 'DELETE', `${sub}${q(t.name, 'a')}`)).status).toBe(200);
      expect((await as(cast, t.who, 'GET', `${path}${q(t.name)}`)).body).toEqual({ d: null });

      // Value delete with the query, then with a body (already gone: still 200).
      expect(await as(cast, t.who, 'DELETE', `${path}${q(t.name)}`)).toEqual({ status: 200, body: null });
      const missing = await as(cast, t.who, 'GET', `${path}${q(t.name)}`);
      expect([missing.status, reason(missing)]).toEqual([404, 'attribute_not_found']);
      expect((await as(cast, t.who, 'DELETE', path, ref)).status).toBe(200);
    });
  }

  it('DELETE reads the query when a JSON content type comes with an empty body', async () => {
    const path = `/api/v4/users/${cast.id.owner}/attributes`;
    const body = { plugin_id: CORE, attribute_name: 'timeline_last_seen', attribute_value: { at: 5 } };
    expect((await as(cast, 'owner', 'POST', path.slice(7), body)).status).toBe(202);
    const del = (text: string) =>
      fetch(`${cast.node.url}${path}${q('timeline_last_seen')}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${cast.token.owner}`, 'content-type': 'application/json' },
        body: text,
      });
    expect((await del('{not json')).status).toBe(400);
    expect((await del('')).status).toBe(200);
    expect((await as(cast, 'owner', 'GET', `${path.slice(7)}${q('timeline_last_seen')}`)).status).toBe(404);
  });

  it('a sub value creates the attribute when it has none', async () => {
    const path = `/users/${cast.id.owner}/attributes`;
    const body = {
      plugin_id: CORE,
      attribute_name: 'skybox_ai',
      sub_attribute_key: 'k',
      sub_attribute_value: 7,
    };
    expect((await as(cast, 'owner', 'POST', `${path}/sub`, body)).status).toBe(202);
    expect((await as(cast, 'owner', 'GET', `${path}${q('skybox_ai')}`)).body).toEqual({ k: 7 });
  });

  it('concurrent sub writes to one attribute all land (no lost update)', async () => {
    const path = `/objects/${CUBE}/${cast.id.owner}/attributes`;
    const writes = Array.from({ length: 20 }, (_, i) =>
      as(cast, 'owner', 'POST', `${path}/sub`, {
        plugin_id: CORE,
        attribute_name: 'emojis',
        sub_attribute_key: `k${i}`,
        sub_attribute_value: i,
      }),
    );
    expect((await Promise.all(writes)).map((r) => r.status)).toEqual(Array(20).fill(202));
    const value = (await as(cast, 'owner', 'GET', `${path}${q('emojis')}`)).body as Record<string, number>;
    expect(Object.keys(value)).toHaveLength(20);
  });

  it('answers 400 naming the field', async () => {
    const message = async (method: string, path: string, body?: unknown) => {
      const res = await as<{ error: { reason: string; message: string } }>(
        cast,
        'nodeAdmin',
        method,
        path,
        body,
      );
      expect(res.status).toBe(400);
      return res.body.error.message;
    };
    const obj = `/objects/${CUBE}/attributes`;
    expect(await message('POST', obj, {})).toMatch(/^body\.plugin_id: /);
    expect(await message('POST', obj, { plugin_id: CORE, attribute_value: {} })).toMatch(
      /^body\.attribute_name: /,
    );
    expect(
      await message('POST', obj, { plugin_id: CORE, attribute_name: 'name', attribute_value: [1] }),
    ).toMatch(/^body\.attribute_value: /);
    expect(
      await message('POST', obj, { plugin_id: 'nope', attribute_name: 'name', attribute_value: {} }),
    ).toMatch(/^body\.plugin_id: /);
    expect(
      await message('POST', obj, { plugin_id: CORE, attribute_name: 'a!b', attribute_value: {} }),
    ).toMatch(/^body\.attribute_name: /);
    expect(
      await message('POST', `${obj}/sub`, {
        plugin_id: CORE,
        attribute_name: 'name',
        sub_attribute_key: 'k',
      }),
    ).toMatch(/^body\.sub_attribute_value: /);
    expect(await message('GET', obj)).toMatch(/^query\.plugin_id: /);
    expect(await message('GET', `${obj}/sub${q('name')}`)).toMatch(/^query\.sub_attribute_key: /);
    expect(await message('GET', `/objects/not-a-uuid/attributes${q('name')}`)).toMatch(/^param\.objectID: /);
    expect(await message('DELETE', obj)).toMatch(/^query\.plugin_id: /);
    expect(await message('DELETE', `${obj}/sub`, { plugin_id: CORE, attribute_name: 'name' })).toMatch(
      /^body\.sub_attribute_key: /,
    );
    expect(
      await message('GET', `/objects/${CUBE}/all-users/attributes/${CORE}/skybox_list/entries?limit=101`),
    ).toMatch(/^query\.limit: /);
  });

  it('answers 404 for an unknown type, object or user', async () => {
    const unknownType = await as(cast, 'nodeAdmin', 'GET', `/objects/${CUBE}/attributes${q('no_such_type')}`);
    expect([unknownType.status, reason(unknownType)]).toEqual([404, 'attribute_type_not_found']);
    const nobody = '0a0b0c0d-0000-4000-8000-000000000000';
    const noObject = await as(cast, 'nodeAdmin', 'GET', `/objects/${nobody}/attributes${q('name')}`);
    expect([noObject.status, reason(noObject)]).toEqual([404, 'object_not_found']);
    const noUser = await as(cast, 'nodeAdmin', 'GET', `/users/${nobody}/attributes${q('name')}`);
    expect([noUser.status, reason(noUser)]).toEqual([404, 'user_not_found']);
  });

  it('bounds a value to 64 KiB serialized, sub values included, and its nesting', async () => {
    const path = `/objects/${CUBE}/attributes`;
    const ref = { plugin_id: CORE, attribute_name: 'description' };
    const big = await as(cast, 'nodeAdmin', 'POST', path, {
      ...ref,
      attribute_value: { t: 'x'.repeat(MAX_VALUE_BYTES) },
    });
    expect([big.status, reason(big)]).toEqual([400, 'attribute_value_too_large']);
    const half = 'x'.repeat(MAX_VALUE_BYTES / 2);
    const sub = (k: string) => ({ ...ref, sub_attribute_key: k, sub_attribute_value: half });
    expect((await as(cast, 'nodeAdmin', 'POST', `${path}/sub`, sub('one'))).status).toBe(202);
    const second = await as(cast, 'nodeAdmin', 'POST', `${path}/sub`, sub('two'));
    expect([second.status, reason(second)]).toEqual([400, 'attribute_value_too_large']);
    expect(
      Object.keys((await as(cast, 'nodeAdmin', 'GET', `${path}${q('description')}`)).body as object),
    ).toEqual(['one']);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const nested = await as(cast, 'nodeAdmin', 'POST', path, { ...ref, attribute_value: deep });
    expect([nested.status, reason(nested)]).toEqual([400, 'invalid_attribute_value']);
  });

  it('keeps paths that share a shape apart', async () => {
    // /users/me/… is not a malformed /users/{userID}/…
    expect((await as(cast, 'guest', 'GET', `/users/me/attributes${q('timeline_last_seen')}`)).status).toBe(
      404,
    );
    // /objects/{id}/all-users/attributes is not the object-user route with userID "all-users".
    expect(await as(cast, 'guest', 'GET', `/objects/${CUBE}/all-users/attributes${q('vote')}`)).toEqual({
      status: 200,
      body: {},
    });
    // /objects/{id}/attributes/sub is not /objects/{id}/{userID}/attributes, and the reverse.
    const body = { plugin_id: CORE, attribute_name: 'vote', attribute_value: { up: true } };
    expect(
      (await as(cast, 'owner', 'POST', `/objects/${CUBE}/${cast.id.owner}/attributes`, body)).status,
    ).toBe(202);
    const sub = await as(
      cast,
      'guest',
      'GET',
      `/objects/${CUBE}/${cast.id.owner}/attributes/sub${q('vote', 'up')}`,
    );
    expect(sub.body).toEqual({ up: true });
    const objectSub = await as(
      cast,
      'guest',
      'GET',
      `/objects/${CUBE}/attributes/sub${q('object_color', 'value')}`,
    );
    expect(objectSub.status).toBe(200);
  });

  it('holds no secret: no secret-bearing type, and the plugin list is public', async () => {
    const plugins = await as<{ plugin_id: string; meta: { name: string } }[]>(cast, 'none', 'GET', '/plugin');
    expect(plugins.status).toBe(200);
    expect(plugins.body.map((p) => p.meta.name)).toEqual(
      expect.arrayContaining(['Core', 'Kusama', 'Image', 'High five']),
    );
    const one = await as<unknown[]>(cast, 'none', 'GET', `/plugin?pluginId=${CORE}`);
    expect(one.body).toHaveLength(1);
    expect((await as<unknown[]>(cast, 'none', 'GET', '/plugin?text=kusa')).body).toHaveLength(1);
    const secretish = /jwt|secret|private_key|challenge|api_key|leonardo|blockadelabs|open_ai/i;
    expect(JSON.stringify(plugins.body)).not.toMatch(secretish);
    const names = cast.node.node.attributes.types.list().map((t) => t.name);
    expect(names.filter((n) => secretish.test(n))).toEqual([]);
    for (const name of ['jwt_key', 'challenge_store', 'node_private_key']) {
      for (const pluginId of [CORE, '86dc3ae7-9f3d-42cb-85a3-a71abc3c3cb8']) {
        const res = await as(cast, 'nodeAdmin', 'GET', `/node/attributes${q(name, undefined, pluginId)}`);
        expect([res.status, reason(res)]).toEqual([404, 'attribute_type_not_found']);
      }
    }
  });

  it('every family is on disk before the response', async () => {
    for (const t of FAMILY_TARGETS) {
      const body = { plugin_id: CORE, attribute_name: t.name, attribute_value: { kept: t.family } };
      expect((await as(cast, t.who, 'POST', t.path(cast), body)).status).toBe(202);
    }
    cast.node = await cast.node.restart();
    for (const t of FAMILY_TARGETS) {
      const read = await as(cast, t.who, 'GET', `${t.path(cast)}${q(t.name)}`);
      expect(read).toEqual({ status: 200, body: { kept: t.family } });
    }
    expect(cast.node.node.attributes.types.get(CORE, 'name')).toBeDefined();
  });
});

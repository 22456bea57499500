/**
 * The permission model, family by family: who may read and write, as the HTTP status each caller gets.
 * A value is written by a node admin first, so that a read either returns it (200) or is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLUGINS } from '../../node/attributes/seed.ts';
import { as, type Cast, CUBE, q, startCast, type Who } from './attributes-fixture.ts';

interface Case {
  title: string;
  /** Paths given the cast (ids are known only once the node runs). */
  read(cast: Cast): string;
  write(cast: Cast): { path: string; body: unknown };
  /** who → [read status, write status] */
  expect: Partial<Record<Who, [number, number]>>;
}

const value = (name: string, v: Record<string, unknown>, plugin: string = PLUGINS.core.id) => ({
  plugin_id: plugin,
  attribute_name: name,
  attribute_value: v,
});

const CASES: Case[] = [
  {
    title: 'node, public read (node_settings: any / admin)',
    read: () => `/node/attributes${q('node_settings')}`,
    write: () => ({ path: '/node/attributes', body: value('node_settings', { name: 'n' }) }),
    expect: {
      none: [401, 401],
      guest: [200, 403],
      other: [200, 403],
      objectAdmin: [200, 403],
      nodeAdmin: [200, 202],
    },
  },
  {
    title: 'node, admin only (hosting_allow_list: admin / admin)',
    read: () => `/node/attributes${q('hosting_allow_list')}`,
    write: () => ({ path: '/node/attributes', body: value('hosting_allow_list', { users: [] }) }),
    expect: { none: [401, 401], guest: [403, 403], objectAdmin: [403, 403], nodeAdmin: [200, 202] },
  },
  {
    title: 'object (object_color: any / admin of the object)',
    read: () => `/objects/${CUBE}/attributes${q('object_color')}`,
    write: () => ({ path: `/objects/${CUBE}/attributes`, body: value('object_color', { value: '#101010' }) }),
    expect: {
      none: [401, 401],
      guest: [200, 403],
      other: [200, 403],
      objectAdmin: [200, 202],
      nodeAdmin: [200, 202],
    },
  },
  {
    title: 'object-user (skybox_list: any / admin + the user)',
    read: (c) => `/objects/${CUBE}/${c.id.owner}/attributes${q('skybox_list')}`,
    write: (c) => ({
      path: `/objects/${CUBE}/${c.id.owner}/attributes`,
      body: value('skybox_list', { h: { name: 'sky' } }),
    }),
    expect: {
      none: [401, 401],
      guest: [200, 403],
      other: [200, 403],
      owner: [200, 202],
      objectAdmin: [200, 202],
      nodeAdmin: [200, 202],
    },
  },
  {
    title: 'user, private (timeline_last_seen: admin + owner / admin + owner)',
    read: (c) => `/users/${c.id.owner}/attributes${q('timeline_last_seen')}`,
    write: (c) => ({ path: `/users/${c.id.owner}/attributes`, body: value('timeline_last_seen', { at: 1 }) }),
    expect: {
      none: [401, 401],
      guest: [403, 403],
      other: [403, 403],
      objectAdmin: [403, 403],
      owner: [200, 202],
      nodeAdmin: [200, 202],
    },
  },
  {
    title: 'user, owner reads but may not write (Kusama wallet: admin + owner / admin)',
    read: (c) => `/users/${c.id.owner}/attributes${q('wallet', undefined, PLUGINS.kusama.id)}`,
    write: (c) => ({
      path: `/users/${c.id.owner}/attributes`,
      body: value('wallet', { wallet: ['5F…'] }, PLUGINS.kusama.id),
    }),
    expect: { guest: [403, 403], other: [403, 403], owner: [200, 403], nodeAdmin: [200, 202] },
  },
  {
    title: 'user-user (high_five: admin + source + target / admin + source)',
    read: (c) => `/users/attributes/sub/${c.id.owner}/${c.id.other}${q('high_five', 'count')}`,
    write: (c) => ({
      path: `/users/attributes/sub/${c.id.owner}/${c.id.other}`,
      body: {
        plugin_id: PLUGINS.core.id,
        attribute_name: 'high_five',
        sub_attribute_key: 'count',
        sub_attribute_value: 1,
      },
    }),
    expect: {
      none: [401, 401],
      guest: [403, 403],
      owner: [200, 202],
      other: [200, 403],
      objectAdmin: [403, 403],
      nodeAdmin: [200, 202],
    },
  },
];

describe('attribute permissions', () => {
  let cast: Cast;
  beforeAll(async () => {
    cast = await startCast();
  });
  afterAll(() => cast.node.cleanup());

  for (const c of CASES) {
    it(c.title, async () => {
      const { path, body } = c.write(cast);
      expect((await as(cast, 'nodeAdmin', 'POST', path, body)).status).toBe(202);
      const got: Partial<Record<Who, [number, number]>> = {};
      for (const who of Object.keys(c.expect) as Who[]) {
        const read = await as(cast, who, 'GET', c.read(cast));
        const write = await as(cast, who, 'POST', path, body);
        got[who] = [read.status, write.status];
      }
      expect(got).toEqual(c.expect);
    });
  }

  it('deletes need write permission, in every family', async () => {
    const del = (who: Who, path: string, name: string) => as(cast, who, 'DELETE', `${path}${q(name)}`);
    expect((await del('guest', '/node/attributes', 'node_settings')).status).toBe(403);
    expect((await del('other', `/objects/${CUBE}/attributes`, 'object_color')).status).toBe(403);
    expect((await del('other', `/objects/${CUBE}/${cast.id.owner}/attributes`, 'skybox_list')).status).toBe(
      403,
    );
    expect((await del('other', `/users/${cast.id.owner}/attributes`, 'timeline_last_seen')).status).toBe(403);
    const highFive = `/users/attributes/sub/${cast.id.owner}/${cast.id.other}`;
    expect((await as(cast, 'other', 'DELETE', `${highFive}${q('high_five', 'count')}`)).status).toBe(403);
    // Refused deletes changed nothing.
    expect((await as(cast, 'owner', 'GET', `${highFive}${q('high_five', 'count')}`)).body).toEqual({
      count: 1,
    });
  });

  it('/users/me/attributes acts on the caller, with the same checks', async () => {
    const body = value('timeline_last_seen', { at: 42 });
    expect((await as(cast, 'guest', 'POST', '/users/me/attributes', body)).status).toBe(202);
    const mine = await as(cast, 'guest', 'GET', `/users/me/attributes${q('timeline_last_seen')}`);
    expect(mine).toEqual({ status: 200, body: { at: 42 } });
    // The same value through the id route: private to its owner.
    const path = `/users/${cast.id.guest}/attributes${q('timeline_last_seen')}`;
    expect((await as(cast, 'guest', 'GET', path)).status).toBe(200);
    expect((await as(cast, 'other', 'GET', path)).status).toBe(403);
    // The Kusama wallet: the owner reads, only admins write.
    const wallet = value('wallet', { wallet: [] }, PLUGINS.kusama.id);
    expect((await as(cast, 'guest', 'POST', '/users/me/attributes', wallet)).status).toBe(403);
  });

  it('"read all" routes serve only types every signed-in user may read', async () => {
    const children = `/objects/${CUBE}/attributes-with-children`;
    expect((await as(cast, 'guest', 'GET', `${children}${q('object_color')}`)).status).toBe(200);
    const allUsers = `/objects/${CUBE}/all-users/attributes`;
    expect((await as(cast, 'guest', 'GET', `${allUsers}${q('skybox_list')}`)).status).toBe(200);
    // A private type stays private even for a node admin: one value each is the most these routes give.
    for (const who of ['guest', 'nodeAdmin'] as const) {
      expect((await as(cast, who, 'GET', `${children}${q('timeline_last_seen')}`)).status).toBe(403);
      expect((await as(cast, who, 'GET', `${allUsers}${q('timeline_last_seen')}`)).status).toBe(403);
      expect((await as(cast, who, 'GET', `/objects/${CUBE}/all-users/count${q('skybox_ai')}`)).status).toBe(
        403,
      );
    }
    expect((await as(cast, 'none', 'GET', `${allUsers}${q('skybox_list')}`)).status).toBe(401);
  });
});

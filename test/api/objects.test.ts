import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CORE_PLUGIN_ID } from '../../node/world/render.ts';
import { DEFAULT_WORLD_ID, OBJECT_TYPES } from '../../node/world/seed.ts';
import { worldTables } from '../../node/world/world-store.ts';
import { NIL_UMID } from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import { call, type ErrorBody, reason } from '../support/http.ts';
import { guest, startNode, type TestClient, type TestNode } from '../support/node.ts';
import {
  AT,
  CUBE_ASSET,
  CUSTOM_TYPE,
  createObject,
  createWorld,
  enter,
  randomWallet,
  type SignedIn,
  walletUser,
} from './world-fixtures.ts';

const api = '/api/v4';

describe('objects API', () => {
  const adminWallet = randomWallet();
  let node: TestNode;
  let owner: SignedIn;
  let world: string;
  const clients: TestClient[] = [];

  beforeEach(async () => {
    node = await startNode({ tickMs: 20, admins: adminWallet });
    owner = await walletUser(node);
    world = await createWorld(node, owner.token);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.client.close()));
    await node.cleanup();
  });

  async function visitor(worldId = world, user?: SignedIn): Promise<TestClient> {
    const c = await enter(node, worldId, user);
    clients.push(c);
    return c;
  }

  it('the owner creates an object: relayed as AddObjects, in LevelDB before the response', async () => {
    const viewer = await visitor();
    const added = viewer.client.next('AddObjects', {
      filter: (m) => m.objects.some((o) => o.name === 'Lamp'),
    });
    const id = await createObject(node, owner.token, world, {
      asset_3d_id: CUBE_ASSET,
      transform: AT(5),
      minimap: true,
    });
    // Straight from LevelDB, not the in-memory store: the write happened before the 201.
    expect(await worldTables(node.node.db).objects.get(id)).toMatchObject({
      name: 'Lamp',
      parentId: world,
      removed: false,
    });
    expect((await added).objects).toEqual([
      expect.objectContaining({
        id,
        parentId: world,
        name: 'Lamp',
        assetType: CUBE_ASSET,
        assetFormat: 2,
        transform: AT(5),
        showOnMinimap: true,
      }),
    ]);
    const expected = {
      owner_id: owner.id,
      parent_id: world,
      object_type_id: CUSTOM_TYPE,
      asset_2d_id: '',
      asset_3d_id: CUBE_ASSET,
      transform: AT(5),
    };
    expect((await call(node, 'GET', `${api}/objects/${id}`, { token: owner.token })).body).toEqual(expected);

    // Without a transform the object appears in front of the caller, inside the world.
    const placed = await createObject(node, owner.token, world);
    const position = node.node.store.findObject(placed)?.object.transform.position;
    expect(position && node.node.worlds.withinBounds(world, position)).toBe(true);

    node = await node.restart();
    expect((await call(node, 'GET', `${api}/objects/${id}`, { token: owner.token })).body).toEqual(expected);
  });

  it('patch renames and swaps assets ("" clears), relayed as an AddObjects upsert', async () => {
    const id = await createObject(node, owner.token, world, { asset_3d_id: CUBE_ASSET });
    const viewer = await visitor();
    const renamed = viewer.client.next('AddObjects', { filter: (m) => m.objects[0]?.name === 'Lantern' });
    const res = await call(node, 'PATCH', `${api}/objects/${id}`, {
      token: owner.token,
      body: { object_name: 'Lantern' },
    });
    expect([res.status, res.body]).toEqual([200, { object_id: id }]);
    expect((await renamed).objects).toEqual([
      expect.objectContaining({ id, name: 'Lantern', assetType: CUBE_ASSET }),
    ]);

    const cleared = viewer.client.next('AddObjects', { filter: (m) => m.objects[0]?.assetType === NIL_UMID });
    const asset2d = '7be0964f-df73-4880-91f5-22eef996aaaa';
    await call(node, 'PATCH', `${api}/objects/${id}`, {
      token: owner.token,
      body: { asset_3d_id: '', asset_2d_id: asset2d },
    });
    expect((await cleared).objects[0]).toMatchObject({ id, name: 'Lantern', assetFormat: 0 });
    const got = await call(node, 'GET', `${api}/objects/${id}`, { token: owner.token });
    expect(got.body).toMatchObject({ asset_3d_id: '', asset_2d_id: asset2d });
    await call(node, 'PATCH', `${api}/objects/${id}`, { token: owner.token, body: { asset_2d_id: '' } });
    expect((await call(node, 'GET', `${api}/objects/${id}`, { token: owner.token })).body).toMatchObject({
      asset_2d_id: '',
    });
  });

  it('delete removes the whole subtree, one RemoveObjects each, persisted; worlds are refused', async () => {
    const parent = await createObject(node, owner.token, world);
    const child = await createObject(node, owner.token, parent);
    const grandchild = await createObject(node, owner.token, child);
    const viewer = await visitor();
    const res = await call(node, 'DELETE', `${api}/objects/${parent}`, { token: owner.token });
    expect([res.status, res.body]).toEqual([200, null]);
    for (const id of [parent, child, grandchild])
      expect((await worldTables(node.node.db).objects.get(id))?.removed).toBe(true);

    const removals = () =>
      viewer.received.flatMap((m) => (m.type === 'RemoveObjects' ? m.objects : [])).sort();
    await expect.poll(removals).toEqual([parent, child, grandchild].sort());
    const gone = await call(node, 'GET', `${api}/objects/${child}`, { token: owner.token });
    expect([gone.status, reason(gone)]).toEqual([404, 'object_not_found']);

    const refused = await call(node, 'DELETE', `${api}/objects/${world}`, { token: owner.token });
    expect([refused.status, reason(refused)]).toEqual([403, 'forbidden']);
    expect(node.node.store.get(world)).toBeDefined();

    node = await node.restart();
    for (const id of [parent, child, grandchild]) expect(node.node.store.findObject(id)).toBeUndefined();
  });

  it('clone copies the object and its attributes next to it', async () => {
    const id = await createObject(node, owner.token, world, { asset_3d_id: CUBE_ASSET, transform: AT(5) });
    const { store } = node.node;
    await store.apply(
      store.attributeOp(world, id, CORE_PLUGIN_ID, 'object_color', { value: '#abcdef' }, 'system'),
    );
    const viewer = await visitor();
    const added = viewer.client.next('AddObjects', { filter: (m) => m.objects[0]?.id !== id });
    const res = await call<{ object_id: string }>(node, 'POST', `${api}/objects/${id}/clone`, {
      token: owner.token,
    });
    expect(res.status).toBe(200);
    const copy = res.body.object_id;
    expect(copy).not.toBe(id);
    expect((await added).objects[0]).toMatchObject({ id: copy, name: 'Lamp', assetType: CUBE_ASSET });
    const got = await call(node, 'GET', `${api}/objects/${copy}`, { token: owner.token });
    expect(got.body).toEqual({
      owner_id: owner.id,
      parent_id: world,
      object_type_id: CUSTOM_TYPE,
      asset_2d_id: '',
      asset_3d_id: CUBE_ASSET,
      transform: { ...AT(5), position: { ...AT(5).position, x: 7 } },
    });
    expect(store.get(world)?.attributes.get(`${copy}!${CORE_PLUGIN_ID}!object_color`)?.value).toEqual({
      value: '#abcdef',
    });
  });

  it('strangers and guests are refused, and nothing changes', async () => {
    const id = await createObject(node, owner.token, world);
    const snapshot = () => JSON.stringify([...(node.node.store.get(world)?.objects ?? [])]);
    const before = snapshot();
    const stranger = await walletUser(node);
    const visitorUser = await guest(node);
    for (const token of [stranger.token, visitorUser.token]) {
      const create = await call(node, 'POST', `${api}/objects`, {
        token,
        body: { object_name: 'Graffiti', parent_id: world, object_type_id: CUSTOM_TYPE },
      });
      expect([create.status, reason(create)]).toEqual([403, 'object_creation_not_permitted']);
      const attempts = [
        call(node, 'PATCH', `${api}/objects/${id}`, { token, body: { object_name: 'Mine' } }),
        call(node, 'DELETE', `${api}/objects/${id}`, { token }),
        call(node, 'POST', `${api}/objects/${id}/clone`, { token }),
        call(node, 'GET', `${api}/objects/${id}/members`, { token }),
        call(node, 'POST', `${api}/objects/${id}/members`, {
          token,
          body: { user_id: stranger.id, role: 'admin' },
        }),
        call(node, 'PATCH', `${api}/worlds/${world}`, { token, body: { name: 'Mine' } }),
      ];
      for (const res of await Promise.all(attempts))
        expect([res.status, reason(res)]).toEqual([403, 'not_admin']);
    }
    const spawn = await call(node, 'POST', `${api}/objects/${world}/spawn-by-user`, {
      token: visitorUser.token,
      body: { object_name: 'Graffiti', object_type_id: CUSTOM_TYPE },
    });
    expect([spawn.status, reason(spawn)]).toEqual([403, 'object_creation_not_permitted']);
    expect(snapshot()).toBe(before);
    expect(node.node.access.listMembers(id)).toEqual([]);
  });

  it('spawn-by-user: admins of the parent, or anyone in a publicly editable world; the caller owns it', async () => {
    const stranger = await walletUser(node);
    const refused = await call(node, 'POST', `${api}/objects/${world}/spawn-by-user`, {
      token: stranger.token,
      body: { object_name: 'Gift', object_type_id: CUSTOM_TYPE },
    });
    expect([refused.status, reason(refused)]).toEqual([403, 'object_creation_not_permitted']);
    const byOwner = await call<{ object_id: string }>(node, 'POST', `${api}/objects/${world}/spawn-by-user`, {
      token: owner.token,
      body: { object_name: 'Gift', object_type_id: CUSTOM_TYPE, attributes: { object_user: [] } },
    });
    expect(byOwner.status).toBe(201);
    const got = await call(node, 'GET', `${api}/objects/${byOwner.body.object_id}`, { token: owner.token });
    expect(got.body).toMatchObject({ owner_id: owner.id, parent_id: world });
    const strangerInPlaza = await call<{ object_id: string }>(
      node,
      'POST',
      `${api}/objects/${DEFAULT_WORLD_ID}/spawn-by-user`,
      {
        token: stranger.token,
        body: { object_name: 'Kite', object_type_id: CUSTOM_TYPE },
      },
    );
    expect(strangerInPlaza.status).toBe(201);
    const kite = await call(node, 'GET', `${api}/objects/${strangerInPlaza.body.object_id}`, {
      token: stranger.token,
    });
    expect(kite.body).toMatchObject({ owner_id: stranger.id });

    const visitorUser = await guest(node);
    const inPlaza = await call(node, 'POST', `${api}/objects/${DEFAULT_WORLD_ID}/spawn-by-user`, {
      token: visitorUser.token,
      body: { object_name: 'Sandcastle', object_type_id: CUSTOM_TYPE },
    });
    expect(inPlaza.status).toBe(201);
    const missing = await call(node, 'POST', `${api}/objects/${crypto.randomUUID()}/spawn-by-user`, {
      token: stranger.token,
      body: { object_name: 'Gift', object_type_id: CUSTOM_TYPE },
    });
    expect([missing.status, reason(missing)]).toEqual([404, 'parent_not_found']);
  });

  it('the child limit is exact (>=), also under concurrent creates', async () => {
    node = await node.restart({ maxChildrenPerObject: 2 });
    const parent = await createObject(node, owner.token, world);
    // Through the service itself: all five checks run before any write lands, the worst interleaving.
    const me = (await node.node.users.get(owner.id)) as UserRecord;
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        node.node.objects.createObject(me, { name: 'Twin', parentId: parent, typeId: CUSTOM_TYPE }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason.reason] : []));
    expect(refusals).toEqual(Array(3).fill('child_limit_reached'));

    const twin = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<string>).value;
    const full = [
      await call(node, 'POST', `${api}/objects`, {
        token: owner.token,
        body: { object_name: 'Third', parent_id: parent, object_type_id: CUSTOM_TYPE },
      }),
      await call(node, 'POST', `${api}/objects/${parent}/spawn-by-user`, {
        token: owner.token,
        body: { object_name: 'Third', object_type_id: CUSTOM_TYPE },
      }),
      await call(node, 'POST', `${api}/objects/${twin}/clone`, { token: owner.token }),
    ];
    for (const res of full) expect([res.status, reason(res)]).toEqual([400, 'child_limit_reached']);
    const tree = await call<{ total_direct_children: number }>(node, 'GET', `${api}/objects/${parent}/tree`, {
      token: owner.token,
    });
    expect(tree.body.total_direct_children).toBe(2);
  });

  it('refuses object types that cannot be children, unknown parents and out-of-bounds transforms', async () => {
    const create = (body: Record<string, unknown>) =>
      call(node, 'POST', `${api}/objects`, {
        token: owner.token,
        body: { object_name: 'X', parent_id: world, object_type_id: CUSTOM_TYPE, ...body },
      });
    for (const type of [OBJECT_TYPES.world.id, OBJECT_TYPES.node.id, crypto.randomUUID()]) {
      const res = await create({ object_type_id: type });
      expect([res.status, reason(res)]).toEqual([400, 'object_type_not_permitted']);
    }
    const orphan = await create({ parent_id: crypto.randomUUID() });
    expect([orphan.status, reason(orphan)]).toEqual([404, 'parent_not_found']);
    const far = await create({ transform: { ...AT(0), position: { x: 1e7, y: 0, z: 0 } } });
    expect([far.status, reason(far)]).toEqual([400, 'invalid_transform']);
    const unknown = await call(node, 'GET', `${api}/objects/${crypto.randomUUID()}`, { token: owner.token });
    expect([unknown.status, reason(unknown)]).toEqual([404, 'object_not_found']);
    expect(node.node.store.get(world)?.objects.size).toBe(1);
  });

  it('members: granted by wallet, the member may lock the object over PosBus until revoked', async () => {
    const id = await createObject(node, owner.token, world);
    const member = await walletUser(node);
    const client = await visitor(world, member);
    const lock = async () => {
      const answer = client.client.next('LockObjectResponse', { filter: (m) => m.id === id });
      client.client.send({ type: 'LockObject', id });
      return (await answer).result;
    };
    expect(await lock()).toBe(0);

    // Any case of the address finds the user: wallets are kept in their canonical lowercase form.
    const wallet = `0x${member.wallet.slice(2).toUpperCase()}`;
    const granted = await call(node, 'POST', `${api}/objects/${id}/members`, {
      token: owner.token,
      body: { wallet, role: 'admin' },
    });
    expect([granted.status, granted.body]).toEqual([200, null]);
    const list = await call(node, 'GET', `${api}/objects/${id}/members`, { token: owner.token });
    expect(list.body).toEqual([
      { object_id: id, user_id: member.id, name: member.name, avatar_hash: '', role: 'admin' },
    ]);

    expect(await lock()).toBe(1);
    const unlocked = client.client.next('LockObjectResponse', { filter: (m) => m.id === id });
    client.client.send({ type: 'UnlockObject', id });
    await unlocked;
    // Membership administers the object over REST too.
    const patched = await call(node, 'PATCH', `${api}/objects/${id}`, {
      token: member.token,
      body: { object_name: 'Shared' },
    });
    expect(patched.status).toBe(200);

    const revoked = await call(node, 'DELETE', `${api}/objects/${id}/members/${member.id}`, {
      token: owner.token,
    });
    expect([revoked.status, revoked.body]).toEqual([200, null]);
    expect(await lock()).toBe(0);
    const again = await call(node, 'DELETE', `${api}/objects/${id}/members/${member.id}`, {
      token: owner.token,
    });
    expect([again.status, reason(again)]).toEqual([404, 'member_not_found']);
  });

  it('members: exactly one of user_id or wallet, role admin, a known non-guest user', async () => {
    const id = await createObject(node, owner.token, world);
    const grant = (body: unknown) =>
      call<ErrorBody>(node, 'POST', `${api}/objects/${id}/members`, { token: owner.token, body });
    const someone = await walletUser(node);
    const visitorUser = await guest(node);
    const cases: [unknown, number, string, RegExp?][] = [
      [
        { user_id: someone.id, wallet: someone.wallet, role: 'admin' },
        400,
        'invalid_request',
        /^body\.user_id: /,
      ],
      [{ role: 'admin' }, 400, 'invalid_request', /^body\.user_id: /],
      [{ user_id: someone.id, role: 'owner' }, 400, 'invalid_request', /^body\.role: /],
      [{ wallet: 'not-a-wallet', role: 'admin' }, 400, 'invalid_wallet'],
      [{ wallet: randomWallet(), role: 'admin' }, 404, 'user_not_found'],
      [{ user_id: visitorUser.id, role: 'admin' }, 400, 'guest_not_permitted'],
    ];
    for (const [body, status, why, message] of cases) {
      const res = await grant(body);
      expect([res.status, reason(res)], JSON.stringify(body)).toEqual([status, why]);
      if (message) expect(res.body.error.message).toMatch(message);
    }
    expect(node.node.access.listMembers(id)).toEqual([]);
    expect((await grant({ user_id: someone.id, role: 'admin' })).status).toBe(200);
  });

  it('tree is bounded by max_depth', async () => {
    const a = await createObject(node, owner.token, world);
    const b = await createObject(node, owner.token, a);
    await createObject(node, owner.token, b);
    type Tree = {
      id: string;
      total_direct_children: number;
      children: Record<string, Tree>;
      max_depth?: number;
    };
    const tree = async (query: string) =>
      (await call<Tree>(node, 'GET', `${api}/objects/${world}/tree${query}`, { token: owner.token })).body;
    const shallow = await tree('?max_depth=1');
    expect(shallow).toMatchObject({
      id: world,
      object_type_name: 'World',
      total_direct_children: 1,
      max_depth: 1,
    });
    expect(shallow.children[a]).toMatchObject({ id: a, total_direct_children: 1, children: {} });
    const deeper = await tree('?max_depth=2');
    expect(Object.keys(deeper.children[a].children)).toEqual([b]);
    expect(deeper.children[a].children[b].children).toEqual({});
    const full = await tree('');
    expect(full.max_depth).toBe(10);
    expect(full.children[a].children[b].total_direct_children).toBe(1);
    for (const bad of ['?max_depth=11', '?max_depth=0', '?max_depth=deep']) {
      const res = await call<ErrorBody>(node, 'GET', `${api}/objects/${world}/tree${bad}`, {
        token: owner.token,
      });
      expect(res.body.error.message).toMatch(/^query\.max_depth: /);
    }
  });

  it('validation errors name the field; creates are rate-limited per user', async () => {
    const bad = async (method: string, path: string, body: unknown, field: RegExp) => {
      const res = await call<ErrorBody>(node, method, path, { token: owner.token, body });
      expect([res.status, reason(res)]).toEqual([400, 'invalid_request']);
      expect(res.body.error.message).toMatch(field);
    };
    const valid = { object_name: 'Lamp', parent_id: world, object_type_id: CUSTOM_TYPE };
    await bad('POST', `${api}/objects`, { ...valid, parent_id: 'nope' }, /^body\.parent_id: /);
    await bad('POST', `${api}/objects`, { ...valid, object_name: undefined }, /^body\.object_name: /);
    await bad(
      'POST',
      `${api}/objects`,
      { ...valid, transform: { position: AT(0).position, rotation: AT(0).rotation } },
      /^body\.transform\.scale: /,
    );
    await bad('PATCH', `${api}/objects/${world}`, { parent_id: world }, /^body/);
    await bad('PATCH', `${api}/objects/${world}`, { asset_3d_id: 'cube' }, /^body\.asset_3d_id: /);

    node = await node.restart({ objectCreatesPerMinute: 3 });
    for (let i = 0; i < 3; i++) await createObject(node, owner.token, world);
    const limited = await call(node, 'POST', `${api}/objects`, { token: owner.token, body: valid });
    expect([limited.status, reason(limited)]).toEqual([429, 'rate_limited']);
    const other = await walletUser(node, adminWallet);
    await createObject(node, other.token, world);
  });
});

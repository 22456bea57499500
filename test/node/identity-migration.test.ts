/**
 * The schema 2 migration on a real LevelDB: data made by a real node (worlds, objects, members, user
 * attributes, activities, a pending stake, an asset, positions) is turned into schema 1 data by giving
 * its wallet users random ids everywhere (a blind rewrite of every key and value, so it knows nothing of
 * where ids live), then opened with the migration. It must restore the data exactly, do nothing the
 * second time, finish after a crash part way, and a sign-in must then give the same id as on a fresh node.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, encodeAddress, mnemonicGenerate } from '@polkadot/util-crypto';
import { pino } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walletUserId } from '../../common/user-id.ts';
import { attributeTables } from '../../node/attributes/attribute-service.ts';
import { PLUGINS } from '../../node/attributes/seed.ts';
import { optionsKey } from '../../node/attributes/targets.ts';
import { warnOfRenamedAdmins } from '../../node/user/renamed-admins.ts';
import { Database, key, SCHEMA_VERSION } from '../../storage/db/database.ts';
import { renameUserReferences } from '../../storage/db/migrations/user-references.ts';
import { migrateWalletUserIds, planWalletUserIds } from '../../storage/db/migrations/wallet-user-ids.ts';
import type { PositionRecord, UserRecord } from '../../storage/db/records.ts';
import { createObject, createWorld } from '../api/world-fixtures.ts';
import { glb, upload } from '../assets/support.ts';
import { call } from '../support/http.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { ethSigner, signInAs, sr25519Signer } from '../support/sign-in.ts';

const silent = pino({ level: 'silent' });
const CORE = PLUGINS.core.id;
const RENAMES = '!user-id-renames!';

/** Every entry of the database, raw key → decoded value. */
async function dump(db: Database): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for await (const [k, v] of db.level.iterator()) out[k] = v;
  return out;
}

async function dumpDir(dir: string): Promise<Record<string, unknown>> {
  const db = new Database(join(dir, 'db'));
  await db.open();
  try {
    return await dump(db);
  } finally {
    await db.close();
  }
}

const withoutRenames = (d: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(d).filter(([k]) => !k.startsWith(RENAMES)));

function replaceIds<T>(value: T, ids: Map<string, string>): T {
  if (typeof value === 'string') {
    let s: string = value;
    for (const [from, to] of ids) s = s.replaceAll(from, to);
    return s as T;
  }
  if (Array.isArray(value)) return value.map((v) => replaceIds(v, ids)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceIds(v, ids)])) as T;
  }
  return value;
}

/** Rewrites every key and value with `ids` replaced and sets schema 1; returns the sublevels it changed. */
async function rewindToSchema1(dir: string, ids: Map<string, string>): Promise<Set<string>> {
  const db = new Database(join(dir, 'db'));
  await db.open();
  const touched = new Set<string>();
  const ops: { type: 'put' | 'del'; key: string; value?: unknown }[] = [];
  for await (const [k, v] of db.level.iterator()) {
    const [nk, nv] = [replaceIds(k, ids), replaceIds(v, ids)];
    if (nk === k && isDeepStrictEqual(nv, v)) continue;
    touched.add(k.split('!')[1]);
    if (nk !== k) ops.push({ type: 'del', key: k });
    ops.push({ type: 'put', key: nk, value: nv });
  }
  await db.level.batch(ops as never);
  await db.meta.put('schema', 1);
  await db.close();
  return touched;
}

describe('wallet user id migration (schema 1 → 2)', () => {
  const account = privateKeyToAccount(generatePrivateKey());
  const walletA = account.address.toLowerCase();
  let pair: ReturnType<Keyring['addFromMnemonic']>;
  let walletB: string;
  const oldA = randomUUID();
  const oldB = randomUUID();
  let dir: string;
  let crashCopy: string;
  let guestId: string;
  let worldId: string;
  let objectId: string;
  let original: Record<string, unknown>;
  const nodes: TestNode[] = [];

  beforeAll(async () => {
    await cryptoWaitReady();
    pair = new Keyring({ type: 'sr25519' }).addFromMnemonic(mnemonicGenerate());
    walletB = u8aToHex(pair.publicKey);
    const node = await startNode();
    nodes.push(node);
    dir = node.dir;
    const { users, tokens, attributes, db } = node.node;
    const a = (await users.walletUser(walletA)).user;
    const b = (await users.walletUser(walletB)).user;
    await users.updateProfile(a.id, { name: 'Ada', profile: { bio: 'builds worlds' } });
    guestId = (await users.createGuest()).id;
    const token = await tokens.issue(a.id);
    worldId = await createWorld(node, token, 'Ada world');
    objectId = await createObject(node, token, worldId);
    const grant = await call(node, 'POST', `/api/v4/objects/${objectId}/members`, {
      token,
      body: { user_id: b.id, role: 'admin' },
    });
    expect(grant.status, JSON.stringify(grant.body)).toBeLessThan(300);
    const me = (await users.get(a.id)) ?? a;
    const ref = (name: string) => ({ pluginId: CORE, name });
    await attributes.set(me, { family: 'user', userId: a.id }, ref('timeline_last_seen'), { at: 1 });
    await attributes.set(me, { family: 'objectUser', objectId: worldId, userId: a.id }, ref('vote'), {
      up: 1,
    });
    const highFive = { family: 'userUser' as const, sourceId: a.id, targetId: b.id };
    await attributes.set(me, highFive, ref('high_five'), { count: 1 });
    // No route writes per-row options of user families yet; the key format is the service's.
    await attributeTables(db).options.put(optionsKey(highFive, ref('high_five')), {
      permissions: { read: 'any' },
    });
    const post = await call(node, 'POST', `/api/v4/objects/${worldId}/timeline`, {
      token,
      body: { type: 'screenshot', hash: 'd41d8cd98f00b204e9800998ecf8427e', description: 'first light' },
    });
    expect(post.status).toBe(201);
    const stake = await call(node, 'POST', '/api/v4/users/me/stakes', {
      token,
      body: {
        transaction_id: `0x${'ee'.repeat(32)}`,
        odyssey_id: worldId,
        wallet: walletA,
        comment: 'for the world',
        amount: '5',
        kind: 0,
      },
    });
    expect(stake.status, JSON.stringify(stake.body)).toBe(200);
    expect((await upload(node, token, glb(4096, 'identity'), { fields: { kind: 'model' } })).status).toBe(
      201,
    );
    await users.savePosition(a.id, worldId, {
      position: { x: 1, y: 2, z: 3 },
      rotation: { x: 0, y: 90, z: 0 },
      at: 1000,
    });
    await node.stop();

    original = await dumpDir(dir);
    const touched = await rewindToSchema1(
      dir,
      new Map([
        [a.id, oldA],
        [b.id, oldB],
      ]),
    );
    // The fixture names the users in every kind of record the migration must follow.
    expect([...touched].sort()).toEqual(
      [
        'activities',
        'assets',
        'attr-object',
        'attr-object-user',
        'attr-options',
        'attr-user',
        'attr-user-user',
        'members',
        'objects',
        'pending-stakes',
        'positions',
        'upload-usage',
        'users',
        'wallets',
      ].sort(),
    );
    crashCopy = await mkdtemp(join(tmpdir(), 'odyssey-crash-'));
    await cp(dir, crashCopy, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    for (const n of nodes) await n.cleanup();
    for (const d of [dir, crashCopy]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('moves every reference to the derived ids, losing nothing, and a second run changes nothing', async () => {
    const db = new Database(join(dir, 'db'));
    await db.open();
    try {
      expect(await db.schemaVersion()).toBe(SCHEMA_VERSION);
      const migrated = await dump(db);
      expect(withoutRenames(migrated)).toEqual(original);
      expect(JSON.stringify(withoutRenames(migrated))).not.toMatch(new RegExp(`${oldA}|${oldB}`));
      expect(Object.fromEntries(await db.sublevel<string>('user-id-renames').iterator().all())).toEqual({
        [oldA]: walletUserId(walletA),
        [oldB]: walletUserId(walletB),
      });
      expect(await db.sublevel<UserRecord>('users').get(guestId)).toMatchObject({
        id: guestId,
        isGuest: true,
      });

      await migrateWalletUserIds(db, silent);
      expect(await dump(db)).toEqual(migrated);
    } finally {
      await db.close();
    }
  });

  it('finishes a migration that died after renaming the references, before moving the users', async () => {
    const db = new Database(join(crashCopy, 'db'));
    await db.level.open();
    await renameUserReferences(db, await planWalletUserIds(db, silent), silent);
    expect(await db.sublevel<UserRecord>('users').get(oldA)).toMatchObject({ id: oldA, name: 'Ada' });
    expect(
      await db.sublevel<PositionRecord>('positions').get(key(walletUserId(walletA), worldId)),
    ).toBeDefined();
    await db.close();

    expect(withoutRenames(await dumpDir(crashCopy))).toEqual(original);
  });

  it('serves the migrated data under the derived ids; the same wallets sign in as the same users on another node', async () => {
    const node = await startNode({ admins: `${oldA},${walletB}` }, dir);
    nodes.push(node);
    const fresh = await startNode();
    nodes.push(fresh);
    const idA = walletUserId(walletA);
    const idB = walletUserId(walletB);

    const a = await signInAs(node, account.address, ethSigner(account));
    expect(a.me).toMatchObject({ id: idA, name: 'Ada', isGuest: false });
    expect((await signInAs(fresh, account.address, ethSigner(account))).me.id).toBe(idA);
    // One sr25519 key, as a Kusama address on one node and a Polkadot address on the other.
    const b = await signInAs(node, encodeAddress(pair.publicKey, 2), sr25519Signer(pair));
    expect(b.me.id).toBe(idB);
    expect((await signInAs(fresh, encodeAddress(pair.publicKey, 0), sr25519Signer(pair))).me.id).toBe(idB);

    const worlds = await call<{ id: string; owner_id: string }[]>(
      node,
      'GET',
      `/api/v4/users/${idA}/worlds`,
      {
        token: a.token,
      },
    );
    expect(worlds.body.map((w) => [w.id, w.owner_id])).toEqual([[worldId, idA]]);
    const object = await call<{ owner_id: string }>(node, 'GET', `/api/v4/objects/${objectId}`, {
      token: a.token,
    });
    expect(object.body.owner_id).toBe(idA);
    const members = await call<{ user_id: string }[]>(node, 'GET', `/api/v4/objects/${objectId}/members`, {
      token: a.token,
    });
    expect(members.body.map((m) => m.user_id)).toEqual([idB]);
    const timeline = await call<{ activities: { user_id: string }[] }>(
      node,
      'GET',
      `/api/v4/objects/${worldId}/timeline?pageSize=10`,
      { token: a.token },
    );
    expect(timeline.body.activities.length).toBeGreaterThan(0);
    for (const activity of timeline.body.activities) expect(activity.user_id).toBe(idA);
    expect(await node.node.users.lastPosition(idA, worldId)).toMatchObject({
      position: { x: 1, y: 2, z: 3 },
    });
    const highFive = await node.node.attributes.get(
      await node.node.users.get(idA),
      { family: 'userUser', sourceId: idA, targetId: idB },
      { pluginId: CORE, name: 'high_five' },
    );
    expect(highFive).toEqual({ count: 1 });

    // Tokens issued before the migration name a user that no longer exists: sign in again.
    const oldToken = await node.node.tokens.issue(oldA);
    const refused = await call(node, 'GET', '/api/v4/users/me', { token: oldToken });
    expect(refused.status).toBe(401);
    // An admin configured by the old id is reported with the new one; the wallet-configured one still works.
    expect(await warnOfRenamedAdmins(node.node.db, node.node.config.admins.split(','), silent)).toEqual([
      { oldId: oldA, newId: idA },
    ]);
    const bUser = await node.node.users.get(idB);
    expect(bUser && node.node.access.isNodeAdmin(bUser)).toBe(true);
  });
});

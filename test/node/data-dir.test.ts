/**
 * The stores declare their own tables; the names are the key prefixes on disk. A data dir written with
 * the current schema (raw LevelDB keys, CBOR values, as the node has always written them) must open with
 * the same data through the stores, so that moving a table's declaration never needs a data migration.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'cbor-x';
import { Level } from 'level';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainStore } from '../../harvester/chain-store.ts';
import { StoredBlocks } from '../../harvester/peers/blocks.ts';
import { ChainPeerTrust } from '../../harvester/peers/trust.ts';
import { ActivityStore } from '../../node/activities/activity-store.ts';
import { AttributeService } from '../../node/attributes/attribute-service.ts';
import { AttributeTypes } from '../../node/attributes/types.ts';
import { stakeTables } from '../../node/stakes/stake-controller.ts';
import { warnOfRenamedAdmins } from '../../node/user/renamed-admins.ts';
import { UserStore } from '../../node/user/user-store.ts';
import { Access } from '../../node/world/access.ts';
import { HybridClock } from '../../node/world/hlc.ts';
import { WorldStore } from '../../node/world/world-store.ts';
import { assetTables } from '../../storage/assets/asset-store.ts';
import { Database, SCHEMA_VERSION } from '../../storage/db/database.ts';

const USER = '6f1b8b8e-3c1a-4d5e-9f00-0a0b0c0d0e0f';
const OLD_USER = '11111111-2222-4333-8444-555555555555';
const WALLET = `0x${'ab'.repeat(20)}`;
const WORLD = '00000000-0000-8000-8000-000000000001';
const ACTIVITY = '0192d3e4-5f60-7a1b-8c2d-3e4f5a6b7c8d';
const TX = `0x${'cd'.repeat(32)}`;

const user = { id: USER, name: 'Ada', isGuest: false, createdAt: 1, updatedAt: 2, wallets: [WALLET] };
const position = { position: { x: 1, y: 2, z: 3 }, rotation: { x: 0, y: 0, z: 0 }, at: 3 };
const membership = { role: 'admin', grantedBy: USER, grantedAt: 4 };
const activity = {
  activityId: ACTIVITY,
  type: 'post',
  userId: USER,
  objectId: WORLD,
  createdAt: 5,
  data: {},
};
const NODE = '00000000-0000-8000-8000-0000000000aa';
const PLUGIN = 'f0f0f0f0-0f0f-4ff0-af0f-f0f0f0f0f0f0';
const CHAIN = 'eip155:31337';
const EVENT = `${CHAIN}:${TX}:0`;
const BLOCK = `0x${'ef'.repeat(32)}`;

const still = { x: 0, y: 0, z: 0 };
const worldObject = {
  id: WORLD,
  worldId: WORLD,
  parentId: NODE,
  ownerId: USER,
  typeId: 'a41ee21e-6c56-41b3-81a9-1c86578b6b3c',
  name: 'Plaza',
  assetType: '00000000-0000-0000-0000-000000000000',
  assetFormat: 2,
  transform: { position: still, rotation: still, scale: { x: 1, y: 1, z: 1 } },
  isEditable: true,
  tetheredToParent: false,
  showOnMinimap: true,
  options: {},
  removed: false,
  stamps: {},
  createdAt: 6,
  updatedAt: 7,
};
const plugin = { id: PLUGIN, meta: { name: 'core' }, options: null, createdAt: 8, updatedAt: 8 };
const attributeType = (name: string) => ({
  pluginId: PLUGIN,
  name,
  description: name,
  options: {},
  createdAt: 8,
  updatedAt: 8,
});
/** One value per attribute family, told apart by `family`. */
const attribute = (family: string) => ({ value: { family }, stamp: '00000000000a:0000:n1', updatedAt: 9 });
const checkpoint = { number: 12, hash: BLOCK, updatedAt: 10 };
const event = { id: EVENT, chainId: CHAIN, blockNumber: 12, kind: 'token.transfer', txHash: TX, logIndex: 0 };
const block = { number: 12, hash: BLOCK, eventIds: [EVENT], undo: [], processedAt: 11 };

const PEER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo';
const chainPeer = { disagreements: 2, distrusted: true, lastReason: 'events', lastBlock: 12, lastAt: 13 };
const asset = {
  cid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
  umid: '8e9c4f3a-2b1d-4e5f-8a6b-7c8d9e0f1a2b',
  name: 'plaza.glb',
  kind: 'model',
  mime: 'model/gltf-binary',
  size: 1234,
  uploader: USER,
  createdAt: 14,
};

const pending = { transactionId: TX, odysseyId: WORLD, wallet: WALLET, amount: '7', comment: 'hi', kind: 0 };

/** Writes the records as raw LevelDB entries: `!<table>!<key>` → CBOR, the layout the node has on disk. */
async function writeDataDir(dir: string): Promise<void> {
  const raw = new Level<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  await raw.open();
  const put = (table: string, key: string, value: unknown) => ({
    type: 'put' as const,
    key: `!${table}!${key}`,
    value: Buffer.from(encode(value)),
  });
  await raw.batch([
    put('meta', 'schema', SCHEMA_VERSION),
    put('users', USER, user),
    put('wallets', WALLET, USER),
    put('positions', `${USER}!${WORLD}`, position),
    put('members', `${WORLD}!${USER}`, membership),
    put('activities', ACTIVITY, activity),
    put('object-activities', `${WORLD}!${ACTIVITY}`, 1),
    put('pending-stakes', TX, pending),
    put('stake-comments', `world!${WORLD}`, { comment: 'hi' }),
    put('user-id-renames', OLD_USER, USER),
    put('objects', WORLD, worldObject),
    put('world-objects', `${WORLD}!${WORLD}`, 1),
    put('plugins', PLUGIN, plugin),
    put('attribute-types', `${PLUGIN}!mood`, attributeType('mood')),
    put('attribute-types', `${PLUGIN}!secret`, attributeType('secret')),
    put('attr-object', `${WORLD}!${PLUGIN}!mood`, attribute('object')),
    put('attr-node', `${PLUGIN}!mood`, attribute('node')),
    put('attr-node', `${PLUGIN}!secret`, attribute('node')),
    put('attr-object-user', `${WORLD}!${PLUGIN}!mood!${USER}`, attribute('objectUser')),
    put('attr-user', `${USER}!${PLUGIN}!mood`, attribute('user')),
    put('attr-user-user', `${USER}!${USER}!${PLUGIN}!mood`, attribute('userUser')),
    put('attr-options', `node!${PLUGIN}!secret`, { permissions: { read: 'admin' } }),
    put('chain-checkpoints', CHAIN, checkpoint),
    put('chain-blocks', `${CHAIN}!000000000012`, block),
    put('chain-events', EVENT, event),
    put('chain-state', `bal!${WALLET}!${CHAIN}!0xtoken`, '42'),
    put('chain-peers', `${CHAIN}!${PEER}`, chainPeer),
    put('assets', asset.cid, asset),
    put('asset-umids', asset.umid, asset.cid),
    put('upload-usage', USER, asset.size),
  ]);
  await raw.close();
}

describe('an existing data dir', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('opens with the same data through the stores that own the tables', async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-data-dir-'));
    await writeDataDir(join(dir, 'db'));
    const db = new Database(join(dir, 'db'));
    await db.open();
    try {
      expect(await db.schemaVersion()).toBe(SCHEMA_VERSION);
      const users = new UserStore({ db });
      expect(await users.get(USER)).toEqual(user);
      expect((await users.byWallet(WALLET))?.id).toBe(USER);
      expect(await users.lastPosition(USER, WORLD)).toEqual(position);
      expect(await warnOfRenamedAdmins(db, [OLD_USER], pino({ level: 'silent' }))).toEqual([
        { oldId: OLD_USER, newId: USER },
      ]);

      const store = new WorldStore({ db, clock: new HybridClock('test') });
      await store.start();
      const access = new Access({ db, store, admins: [] });
      await access.start();
      expect(access.listMembers(WORLD)).toEqual([[USER, membership]]);

      const activities = new ActivityStore({ db });
      await activities.start();
      expect(await activities.get(ACTIVITY)).toEqual(activity);
      const timeline = await activities.ofObject(WORLD, 0, 10);
      expect(timeline.activities.map((a) => a.activityId)).toEqual([ACTIVITY]);

      const blocks = new StoredBlocks(db);
      expect(await blocks.at(CHAIN, 12)).toEqual(block);
      const trust = new ChainPeerTrust({ db, logger: pino({ level: 'silent' }) });
      await trust.load();
      expect(trust.isDistrusted(CHAIN, PEER)).toBe(true);
      expect(trust.of(CHAIN)).toEqual([{ peerId: PEER, ...chainPeer }]);
      const assets = assetTables(db);
      expect(await assets.assets.get(asset.cid)).toEqual(asset);
      expect(await assets.assetUmids.get(asset.umid)).toBe(asset.cid);
      expect(await assets.uploadUsage.get(USER)).toBe(asset.size);

      const stakes = stakeTables(db);
      expect(await stakes.pendingStakes.get(TX)).toEqual(pending);
      expect(await stakes.stakeComments.get(`world!${WORLD}`)).toEqual({ comment: 'hi' });

      expect(store.get(WORLD)?.objects.get(WORLD)).toEqual(worldObject);
      expect(await store.storedObject(WORLD)).toEqual(worldObject);

      const types = await AttributeTypes.load(db);
      expect(types.plugins()).toEqual([plugin]);
      expect(types.get(PLUGIN, 'mood')).toEqual(attributeType('mood'));
      const attributes = new AttributeService({ db, store, users, access, types, nodeId: NODE });
      const mood = { pluginId: PLUGIN, name: 'mood' };
      const targets = [
        { family: 'node' },
        { family: 'object', objectId: WORLD },
        { family: 'objectUser', objectId: WORLD, userId: USER },
        { family: 'user', userId: USER },
        { family: 'userUser', sourceId: USER, targetId: USER },
      ] as const;
      for (const target of targets) {
        expect(await attributes.get(undefined, target, mood)).toEqual({ family: target.family });
      }
      // The row's options (read: admin) are found: the same read of the type's default (any) is refused.
      await expect(
        attributes.get(undefined, { family: 'node' }, { pluginId: PLUGIN, name: 'secret' }),
      ).rejects.toThrow(/read of secret needs admin/);

      const chain = new ChainStore({ db });
      expect(await chain.checkpoint(CHAIN)).toEqual({ number: 12, hash: BLOCK });
      expect(await chain.event(EVENT)).toEqual(event);
      expect(await chain.eventsOfTransaction(TX)).toEqual([event]);
      expect(await chain.value('bal', WALLET, CHAIN, '0xtoken')).toBe('42');
      expect(await chain.processed(CHAIN).below(13, 10)).toEqual([{ number: 12, hash: BLOCK }]);
    } finally {
      await db.close();
    }
  });
});

describe('the schema version of a data dir', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Opens the database with a logger that keeps what it logs, and returns the migrations it ran. */
  async function openLogged(location: string): Promise<{ db: Database; migrations: unknown[] }> {
    const lines: { msg?: string; from?: number; to?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const db = new Database(location, { logger });
    await db.open();
    const migrations = lines
      .filter((l) => l.msg === 'migrating the database')
      .map(({ from, to }) => ({ from, to }));
    return { db, migrations };
  }

  async function rawKeys(location: string): Promise<string[]> {
    const raw = new Level<string, Buffer>(location, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    try {
      return await raw.keys().all();
    } finally {
      await raw.close();
    }
  }

  it('is SCHEMA_VERSION in a new data dir, written without running a migration', async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-data-dir-'));
    const { db, migrations } = await openLogged(join(dir, 'db'));
    try {
      expect(await db.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(migrations).toEqual([]);
    } finally {
      await db.close();
    }
    expect(await rawKeys(join(dir, 'db'))).toEqual(['!meta!schema']);
  });

  it('is raised one step at a time in a data dir of an older schema', async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-data-dir-'));
    const raw = new Level<string, Buffer>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await raw.batch([
      { type: 'put', key: '!meta!schema', value: Buffer.from(encode(1)) },
      { type: 'put', key: `!users!${USER}`, value: Buffer.from(encode(user)) },
      { type: 'put', key: `!wallets!${WALLET}`, value: Buffer.from(encode(USER)) },
    ]);
    await raw.close();
    const { db, migrations } = await openLogged(join(dir, 'db'));
    try {
      expect(migrations).toEqual([
        { from: 1, to: 2 },
        { from: 2, to: 3 },
        { from: 3, to: 4 },
      ]);
      expect(await db.schemaVersion()).toBe(SCHEMA_VERSION);
    } finally {
      await db.close();
    }
  });

  it('is raised from 0 in a data dir with records and no schema mark (written before versions were kept)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-data-dir-'));
    const raw = new Level<string, Buffer>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await raw.put(`!objects!${WORLD}`, Buffer.from(encode(worldObject)));
    await raw.close();
    const { db, migrations } = await openLogged(join(dir, 'db'));
    try {
      // 0 → 1 only marks the version (it is not logged); the ones after it run as for any old dir.
      expect(migrations).toEqual([
        { from: 1, to: 2 },
        { from: 2, to: 3 },
        { from: 3, to: 4 },
      ]);
      expect(await db.schemaVersion()).toBe(SCHEMA_VERSION);
    } finally {
      await db.close();
    }
  });
});

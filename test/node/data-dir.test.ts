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
import { ActivityStore } from '../../node/activities/activity-store.ts';
import { stakeTables } from '../../node/stakes/stake-controller.ts';
import { warnOfRenamedAdmins } from '../../node/user/renamed-admins.ts';
import { UserStore } from '../../node/user/user-store.ts';
import { Access } from '../../node/world/access.ts';
import { HybridClock } from '../../node/world/hlc.ts';
import { WorldStore } from '../../node/world/world-store.ts';
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

      const stakes = stakeTables(db);
      expect(await stakes.pendingStakes.get(TX)).toEqual(pending);
      expect(await stakes.stakeComments.get(`world!${WORLD}`)).toEqual({ comment: 'hi' });
    } finally {
      await db.close();
    }
  });
});

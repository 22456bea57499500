/**
 * Two schema 1 users holding one wallet (this code never writes that, the migration checks anyway): the
 * migration merges them into the wallet's derived user, and neither one's worlds, memberships, positions
 * or attributes are lost; where both had a record under one key, the later one is kept.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { walletUserId } from '../../common/user-id.ts';
import { attributeTables } from '../../node/attributes/attribute-service.ts';
import type { Membership } from '../../node/world/access.ts';
import { ZERO_STAMP } from '../../node/world/hlc.ts';
import { worldTables } from '../../node/world/world-store.ts';
import { Database, key } from '../../storage/db/database.ts';
import type { ObjectRecord, PositionRecord, UserRecord } from '../../storage/db/records.ts';

const WORLD = '5e1f0d2c-7a41-4c39-9b1e-0d0000000001';
const PLUGIN = 'f0f0f0f0-0f0f-4ff0-af0f-f0f0f0f0f0f0';
const SHARED = `0x${'5a'.repeat(20)}`;
const SECOND = `0x${'5b'.repeat(20)}`;

const user = (id: string, name: string, createdAt: number, wallets: string[]): UserRecord => ({
  id,
  name,
  isGuest: false,
  avatar: '',
  profile: { bio: `${name}'s bio` },
  wallets,
  createdAt,
  updatedAt: createdAt,
});

const object = (id: string, ownerId: string): ObjectRecord =>
  ({
    id,
    worldId: WORLD,
    parentId: WORLD,
    ownerId,
    stamps: { ownerId: '00000000000a:0000:n1' },
  }) as ObjectRecord;

describe('migration of two users holding one wallet', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('merges them into the derived user, keeping both users records', async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-merge-'));
    const older = randomUUID();
    const newer = randomUUID();
    const [objectOfOlder, objectOfNewer] = [randomUUID(), randomUUID()];
    const setup = new Database(join(dir, 'db'));
    await setup.open();
    await setup.level.batch([
      {
        type: 'put',
        sublevel: setup.sublevel<UserRecord>('users'),
        key: older,
        value: user(older, 'Older', 100, [SHARED]),
      },
      {
        type: 'put',
        sublevel: setup.sublevel<UserRecord>('users'),
        key: newer,
        value: user(newer, 'Newer', 200, [SHARED, SECOND]),
      },
      { type: 'put', sublevel: setup.sublevel<string>('wallets'), key: SHARED, value: newer },
      { type: 'put', sublevel: setup.sublevel<string>('wallets'), key: SECOND, value: newer },
      {
        type: 'put',
        sublevel: worldTables(setup).objects,
        key: objectOfOlder,
        value: object(objectOfOlder, older),
      },
      {
        type: 'put',
        sublevel: worldTables(setup).objects,
        key: objectOfNewer,
        value: object(objectOfNewer, newer),
      },
      {
        type: 'put',
        sublevel: setup.sublevel<Membership>('members'),
        key: key(WORLD, older),
        value: { role: 'admin', grantedBy: newer, grantedAt: 5 },
      },
      {
        type: 'put',
        sublevel: setup.sublevel<PositionRecord>('positions'),
        key: key(older, WORLD),
        value: { position: { x: 1, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 }, at: 10 },
      },
      {
        type: 'put',
        sublevel: setup.sublevel<PositionRecord>('positions'),
        key: key(newer, WORLD),
        value: { position: { x: 2, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 }, at: 20 },
      },
      {
        type: 'put',
        sublevel: attributeTables(setup).values.user,
        key: key(older, PLUGIN, 'bio'),
        value: { value: { v: 'old' }, stamp: '00000000000b:0000:n1', updatedAt: 1 },
      },
      {
        type: 'put',
        sublevel: attributeTables(setup).values.user,
        key: key(newer, PLUGIN, 'bio'),
        value: { value: { v: 'new' }, stamp: '00000000000a:0000:n1', updatedAt: 2 },
      },
      {
        type: 'put',
        sublevel: attributeTables(setup).values.user,
        key: key(newer, PLUGIN, 'only'),
        value: { value: { v: 1 }, stamp: ZERO_STAMP, updatedAt: 2 },
      },
    ] as never);
    await setup.meta.put('schema', 1);
    await setup.close();

    const db = new Database(join(dir, 'db'));
    await db.open();
    try {
      const id = walletUserId(SHARED);
      expect(await db.sublevel<UserRecord>('users').keys().all()).toEqual([id]);
      expect(await db.sublevel<UserRecord>('users').get(id)).toMatchObject({
        id,
        name: 'Older',
        createdAt: 100,
        wallets: [SHARED, SECOND],
        profile: { bio: "Older's bio" },
      });
      expect(await db.sublevel<string>('wallets').get(SHARED)).toBe(id);
      expect(await db.sublevel<string>('wallets').get(SECOND)).toBe(id);
      for (const o of [objectOfOlder, objectOfNewer]) {
        expect(await worldTables(db).objects.get(o)).toMatchObject({
          ownerId: id,
          stamps: { ownerId: '00000000000a:0000:n1' },
        });
      }
      expect(await db.sublevel<Membership>('members').get(key(WORLD, id))).toMatchObject({ grantedBy: id });
      expect(await db.sublevel<PositionRecord>('positions').iterator().all()).toEqual([
        [key(id, WORLD), expect.objectContaining({ at: 20 })],
      ]);
      expect(Object.fromEntries(await attributeTables(db).values.user.iterator().all())).toEqual({
        [key(id, PLUGIN, 'bio')]: expect.objectContaining({ value: { v: 'old' } }),
        [key(id, PLUGIN, 'only')]: expect.objectContaining({ value: { v: 1 } }),
      });
      expect(Object.fromEntries(await db.sublevel<string>('user-id-renames').iterator().all())).toEqual({
        [older]: id,
        [newer]: id,
      });
    } finally {
      await db.close();
    }
  });
});

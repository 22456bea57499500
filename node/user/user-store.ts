/** Users and their last known positions, in LevelDB. */
import { randomInt, randomUUID } from 'node:crypto';
import { type Database, key } from '../../storage/db/database.ts';
import type { PositionRecord, UserRecord } from '../../storage/db/records.ts';

export class UserStore {
  private readonly db: Database;

  constructor(components: { db: Database }) {
    this.db = components.db;
  }

  get(userId: string): Promise<UserRecord | undefined> {
    return this.db.users.get(userId);
  }

  async put(user: UserRecord): Promise<void> {
    await this.db.users.put(user.id, user);
  }

  /** A new guest, named like the original's: `Visitor_` and seven digits. */
  async createGuest(): Promise<UserRecord> {
    const now = Date.now();
    const user: UserRecord = {
      id: randomUUID(),
      name: `Visitor_${randomInt(0, 10_000_000).toString().padStart(7, '0')}`,
      isGuest: true,
      avatar: '',
      createdAt: now,
      updatedAt: now,
      lastSeenAt: now,
    };
    await this.put(user);
    return user;
  }

  lastPosition(userId: string, worldId: string): Promise<PositionRecord | undefined> {
    return this.db.positions.get(key(userId, worldId));
  }

  async savePosition(userId: string, worldId: string, position: PositionRecord): Promise<void> {
    await this.db.positions.put(key(userId, worldId), position);
  }

  /** Marks when a user's last session ended; guests are removed some time after. */
  async touch(userId: string, at: number): Promise<void> {
    const user = await this.get(userId);
    if (user) await this.put({ ...user, lastSeenAt: at });
  }

  /** Deletes guests not seen since `before` (and not in `online`), with their positions. Returns how many. */
  async removeIdleGuests(before: number, online: ReadonlySet<string>): Promise<number> {
    let removed = 0;
    for await (const [id, user] of this.db.users.iterator()) {
      if (!user.isGuest || online.has(id) || (user.lastSeenAt ?? user.createdAt) >= before) continue;
      const positions = await this.db.valuesWithPrefix(this.db.positions, id);
      await this.db.level.batch([
        { type: 'del', sublevel: this.db.users, key: id },
        ...positions.map(([k]) => ({ type: 'del' as const, sublevel: this.db.positions, key: k })),
      ]);
      removed++;
    }
    return removed;
  }
}

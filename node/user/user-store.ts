/**
 * Users and their last known positions, in LevelDB. A wallet user's id is derived from the wallet it was
 * created for (user-id.ts), so it is the same on every node; a guest's is random and node-local.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { invalid } from '../../common/errors.ts';
import { normaliseWallet, walletUserId } from '../../common/user-id.ts';
import { type Database, key, valuesWithPrefix } from '../../storage/db/database.ts';
import type { PositionRecord, UserProfile, UserRecord } from '../../storage/db/records.ts';

/** The tables of users (names are on-disk key prefixes: never rename them). */
export function userTables(db: Database) {
  return {
    level: db.level,
    users: db.sublevel<UserRecord>('users'),
    /** canonical wallet → userId */
    wallets: db.sublevel<string>('wallets'),
    /** userId!worldId → last position in that world */
    positions: db.sublevel<PositionRecord>('positions'),
    /** Old random id → derived id of every wallet user moved by the schema 2 migration (kept for reference). */
    userIdRenames: db.sublevel<string>('user-id-renames'),
  };
}

export class UserStore {
  private readonly db: ReturnType<typeof userTables>;

  /**
   * User records are read-modify-written (profile edits, wallets, last seen); one queue for all of them
   * keeps an answered write from being overwritten by a stale copy, and a wallet from getting two users.
   * These writes are rare next to positions, so one queue costs nothing that matters.
   */
  private writes: Promise<unknown> = Promise.resolve();

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work);
    this.writes = run.catch(() => {});
    return run;
  }

  constructor(components: { db: Database }) {
    this.db = userTables(components.db);
  }

  get(userId: string): Promise<UserRecord | undefined> {
    return this.db.users.get(userId);
  }

  put(user: UserRecord): Promise<void> {
    return this.serial(() => this.db.users.put(user.id, user));
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

  /** The user a wallet (canonical form) belongs to. */
  async byWallet(wallet: string): Promise<UserRecord | undefined> {
    const userId = await this.db.wallets.get(wallet);
    return userId ? this.get(userId) : undefined;
  }

  /**
   * The wallet's user, created (a normal, non-guest user whose id is derived from the wallet) on first
   * sight. Refuses (`invalid_wallet`) a `wallet` that is not an address.
   */
  async walletUser(wallet: string): Promise<{ user: UserRecord; created: boolean }> {
    const canonical = normaliseWallet(wallet);
    return this.serial(() => this.createWalletUser(canonical));
  }

  private async createWalletUser(wallet: string): Promise<{ user: UserRecord; created: boolean }> {
    const existing = await this.byWallet(wallet);
    if (existing) return { user: existing, created: false };
    const id = walletUserId(wallet);
    const orphan = await this.get(id);
    if (orphan) {
      // The wallet's own user without its index entry (a record written by hand, or a copy of another
      // node's): the id says whose it is, so the index is restored rather than the record overwritten.
      const wallets = orphan.wallets?.includes(wallet) ? orphan.wallets : [wallet, ...(orphan.wallets ?? [])];
      const user: UserRecord = { ...orphan, isGuest: false, wallets };
      await this.db.level.batch([
        { type: 'put', sublevel: this.db.users, key: id, value: user },
        { type: 'put', sublevel: this.db.wallets, key: wallet, value: id },
      ]);
      return { user, created: false };
    }
    const now = Date.now();
    const user: UserRecord = {
      id,
      name: `Member_${randomInt(0, 10_000_000).toString().padStart(7, '0')}`,
      isGuest: false,
      avatar: '',
      profile: {},
      wallets: [wallet],
      createdAt: now,
      updatedAt: now,
    };
    await this.db.level.batch([
      { type: 'put', sublevel: this.db.users, key: user.id, value: user },
      { type: 'put', sublevel: this.db.wallets, key: wallet, value: user.id },
    ]);
    return { user, created: true };
  }

  /**
   * Adds a wallet (canonical form) to a user; `wallet_already_exists` when any user already has it. The user
   * keeps its id: the id of the wallet it was created for.
   */
  attachWallet(userId: string, wallet: string): Promise<UserRecord> {
    return this.serial(() => this.addWallet(userId, wallet));
  }

  private async addWallet(userId: string, wallet: string): Promise<UserRecord> {
    if (await this.db.wallets.get(wallet))
      throw invalid('wallet_already_exists', `wallet ${wallet} is already attached`);
    const user = await this.get(userId);
    if (!user) throw new Error(`no user ${userId}`);
    const next: UserRecord = { ...user, wallets: [...(user.wallets ?? []), wallet], updatedAt: Date.now() };
    await this.db.level.batch([
      { type: 'put', sublevel: this.db.users, key: user.id, value: next },
      { type: 'put', sublevel: this.db.wallets, key: wallet, value: user.id },
    ]);
    return next;
  }

  /** Merges a name and profile fields into the user; marks the profile onboarded, as the original did. */
  updateProfile(userId: string, patch: { name?: string; profile?: UserProfile }): Promise<UserRecord> {
    return this.serial(async () => {
      const user = await this.get(userId);
      if (!user) throw new Error(`no user ${userId}`);
      const next: UserRecord = {
        ...user,
        name: patch.name ?? user.name,
        profile: { ...user.profile, ...patch.profile, onboarded: true },
        updatedAt: Date.now(),
      };
      await this.db.users.put(next.id, next);
      return next;
    });
  }

  /** Users matching a filter, newest first unless `ascending`. A scan: fine for a node's user count. */
  async list(opts: {
    filter?: (u: UserRecord) => boolean;
    ascending?: boolean;
    limit: number;
  }): Promise<UserRecord[]> {
    const out: UserRecord[] = [];
    for await (const user of this.db.users.values()) if (!opts.filter || opts.filter(user)) out.push(user);
    out.sort((a, b) => (opts.ascending ? a.createdAt - b.createdAt : b.createdAt - a.createdAt));
    return out.slice(0, opts.limit);
  }

  lastPosition(userId: string, worldId: string): Promise<PositionRecord | undefined> {
    return this.db.positions.get(key(userId, worldId));
  }

  async savePosition(userId: string, worldId: string, position: PositionRecord): Promise<void> {
    await this.db.positions.put(key(userId, worldId), position);
  }

  /** Marks when a user's last session ended; guests are removed some time after. */
  touch(userId: string, at: number): Promise<void> {
    return this.serial(async () => {
      const user = await this.get(userId);
      if (user) await this.db.users.put(user.id, { ...user, lastSeenAt: at });
    });
  }

  /** Deletes guests not seen since `before` (and not in `online`), with their positions. Returns how many. */
  removeIdleGuests(before: number, online: ReadonlySet<string>): Promise<number> {
    return this.serial(() => this.deleteIdleGuests(before, online));
  }

  private async deleteIdleGuests(before: number, online: ReadonlySet<string>): Promise<number> {
    let removed = 0;
    for await (const [id, user] of this.db.users.iterator()) {
      if (!user.isGuest || online.has(id) || (user.lastSeenAt ?? user.createdAt) >= before) continue;
      const positions = await valuesWithPrefix(this.db.positions, id);
      await this.db.level.batch([
        { type: 'del', sublevel: this.db.users, key: id },
        ...positions.map(([k]) => ({ type: 'del' as const, sublevel: this.db.positions, key: k })),
      ]);
      removed++;
    }
    return removed;
  }
}

/** The user record as routes and transports see it. */
export type { UserRecord } from '../../storage/db/records.ts';

/**
 * Schema 1 → 2: wallet users move from random ids to the ids derived from their wallets
 * (common/user-id.ts), so that a person is the same user on every node, and every record that names
 * them follows: worlds' and objects' owners, positions, memberships, user attributes and their options,
 * activities, pending stakes, asset uploaders, the wallet index. Guests keep their ids.
 *
 * Three steps, each safe to repeat after a crash:
 * 1. The plan (old id → new id) is computed from the users and written in one batch with a marker.
 *    Without the marker a run plans again from the users, which nothing has changed yet.
 * 2. References are renamed in bounded batches (user-references.ts); a record already renamed names
 *    no planned old id (old ids are the users' ids before the migration, new ids derived ones, and the plan
 *    refuses to chain), so a repeat skips it.
 * 3. Users and the wallet index move in one batch, which also removes the marker. The plan must be on
 *    disk before this step: afterwards the users no longer say what their old ids were.
 * The schema version is bumped only after all three; until then every start runs them again.
 *
 * Users sharing a wallet (never written by this code, but checked) are one person and are merged: the
 * user created first gives the name, profile and the wallet the id is derived from, wallets are united,
 * and every record of each follows the merged id. Where two records then land on one key (both had a
 * position in one world, or the same user attribute), the later one is kept and the other is logged.
 */
import type { Logger } from 'pino';
import { walletUserId } from '../../../common/user-id.ts';
import type { UserRecord } from '../records.ts';
import { DatabaseError, type Tables } from '../tables.ts';
import { type Renames, renameUserReferences } from './user-references.ts';

/** In meta while a plan is on disk and the users have not moved yet. */
const PLAN_MARKER = 'walletUserIdPlan';

/** The user tables as this migration's schema version has them (names are on-disk key prefixes). */
const tables = new WeakMap<Tables, ReturnType<typeof userTables>>();
const userTables = (db: Tables) => ({
  users: db.sublevel<UserRecord>('users'),
  wallets: db.sublevel<string>('wallets'),
  userIdRenames: db.sublevel<string>('user-id-renames'),
});
function tablesOf(db: Tables): ReturnType<typeof userTables> {
  let t = tables.get(db);
  if (!t) {
    t = userTables(db);
    tables.set(db, t);
  }
  return t;
}

export async function migrateWalletUserIds(db: Tables, log: Logger): Promise<void> {
  const renames = await planWalletUserIds(db, log);
  if (renames.size === 0) {
    await db.meta.del(PLAN_MARKER);
    return;
  }
  const references = await renameUserReferences(db, renames, log);
  const users = await moveWalletUsers(db, renames, log);
  log.info({ users, references }, 'wallet users moved to ids derived from their wallets');
}

/** Step 1: the persisted plan, or a new one written in one batch. */
export async function planWalletUserIds(db: Tables, log: Logger): Promise<Renames> {
  if (await db.meta.get(PLAN_MARKER)) return new Map(await tablesOf(db).userIdRenames.iterator().all());
  const renames = new Map<string, string>();
  for (const group of await usersByPerson(db)) {
    const [first, ...others] = group;
    const id = derivedId(first, log) ?? first.id;
    for (const user of group) if (user.id !== id) renames.set(user.id, id);
    if (others.length > 0)
      log.warn({ userIds: group.map((u) => u.id), into: id }, 'users sharing a wallet are merged into one');
  }
  for (const [from, to] of renames) {
    if (renames.has(to))
      throw new DatabaseError(
        `user ${from} would move to ${to}, which is itself planned to move; not migrating`,
      );
  }
  await db.level.batch([
    ...[...renames].map(([from, to]) => ({
      type: 'put' as const,
      sublevel: tablesOf(db).userIdRenames,
      key: from,
      value: to,
    })),
    { type: 'put', sublevel: db.meta, key: PLAN_MARKER, value: true },
  ]);
  return renames;
}

/** Non-guest users with wallets, grouped by shared wallets; each group ordered oldest first. */
async function usersByPerson(db: Tables): Promise<UserRecord[][]> {
  const parent = new Map<string, string>();
  const root = (id: string): string => {
    let at = id;
    while (parent.get(at) !== at) at = parent.get(at) as string;
    parent.set(id, at);
    return at;
  };
  const users = new Map<string, UserRecord>();
  const holder = new Map<string, string>();
  for await (const user of tablesOf(db).users.values()) {
    if (user.isGuest || !user.wallets?.length) continue;
    users.set(user.id, user);
    parent.set(user.id, user.id);
    for (const wallet of user.wallets) {
      const canonical = wallet.toLowerCase();
      const other = holder.get(canonical);
      if (other === undefined) holder.set(canonical, user.id);
      else parent.set(root(user.id), root(other));
    }
  }
  const groups = new Map<string, UserRecord[]>();
  for (const [id, user] of users) {
    const group = groups.get(root(id)) ?? [];
    group.push(user);
    groups.set(root(id), group);
  }
  const oldestFirst = (a: UserRecord, b: UserRecord) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
  return [...groups.values()].map((g) => g.sort(oldestFirst));
}

/** The id of the user's first wallet that is an address; the user keeps its id when none is. */
function derivedId(user: UserRecord, log: Logger): string | undefined {
  for (const wallet of user.wallets ?? []) {
    try {
      return walletUserId(wallet);
    } catch (e) {
      log.warn({ userId: user.id, wallet, err: e }, 'a stored wallet is not an address; trying the next one');
    }
  }
  log.warn({ userId: user.id }, 'no wallet of this user is an address: it keeps its id');
  return undefined;
}

/** Step 3: users under their new ids (merged where several move to one) and the wallet index, one batch. */
export async function moveWalletUsers(db: Tables, renames: Renames, log: Logger): Promise<number> {
  const incoming = new Map<string, UserRecord[]>();
  for (const [from, to] of renames) {
    const user = await tablesOf(db).users.get(from);
    if (user) incoming.set(to, [...(incoming.get(to) ?? []), user]);
  }
  const ops: unknown[] = [];
  for (const [to, users] of incoming) {
    const already = await tablesOf(db).users.get(to);
    const merged = mergeUsers(to, already ? [already, ...users] : users);
    if (users.length + (already ? 1 : 0) > 1)
      log.warn({ userIds: users.map((u) => u.id), into: to, wallets: merged.wallets }, 'users merged');
    for (const user of users) ops.push({ type: 'del', sublevel: tablesOf(db).users, key: user.id });
    ops.push({ type: 'put', sublevel: tablesOf(db).users, key: to, value: merged });
    for (const wallet of merged.wallets ?? [])
      ops.push({ type: 'put', sublevel: tablesOf(db).wallets, key: wallet, value: to });
  }
  // Index entries of wallets no user lists any more still follow their user.
  for await (const [wallet, userId] of tablesOf(db).wallets.iterator()) {
    const to = renames.get(userId);
    if (to) ops.push({ type: 'put', sublevel: tablesOf(db).wallets, key: wallet, value: to });
  }
  ops.push({ type: 'del', sublevel: db.meta, key: PLAN_MARKER });
  await db.level.batch(ops as never);
  return incoming.size;
}

/** One user from several records of one person: the oldest's name and profile first, wallets united. */
function mergeUsers(id: string, records: UserRecord[]): UserRecord {
  const [first, ...rest] = [...records].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  if (rest.length === 0) return { ...first, id };
  const all = [first, ...rest];
  return {
    ...first,
    id,
    isGuest: false,
    profile: Object.assign({}, ...all.toReversed().map((u) => u.profile)),
    wallets: [...new Set(all.flatMap((u) => u.wallets ?? []))],
    avatar: all.find((u) => u.avatar)?.avatar ?? '',
    createdAt: first.createdAt,
    updatedAt: Math.max(...all.map((u) => u.updatedAt)),
  };
}

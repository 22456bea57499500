/**
 * Every record outside the users and wallets sublevels that names a user, and how to rename the user in
 * it. Keys are `!`-joined (database.ts `key`), so a user id in a key is one of its parts.
 *
 * A record whose key changes is deleted and written under its new key in the same batch, so a crash
 * never leaves it under both keys or neither; running the rename again skips records already renamed
 * (they name no old id any more).
 */
import type { Logger } from 'pino';
import type { PendingStakeRecord } from '../chain-records.ts';
import type {
  ActivityRecord,
  AssetRecord,
  AttributeOptions,
  AttributeRecord,
  ObjectRecord,
  PositionRecord,
} from '../records.ts';
import type { Sublevel, Tables } from '../tables.ts';

/** Old user id → new user id. */
export type Renames = ReadonlyMap<string, string>;

type Renamed<V> = { key: string; value: V } | undefined;

interface ReferenceRewrite<V> {
  name: string;
  sublevel: Sublevel<V>;
  /** The record with its users renamed, or undefined when it names no renamed user. */
  rename(k: string, v: V): Renamed<V>;
  /** When two users were merged, two records can land on one key: the one kept (the other is logged). */
  keep(existing: V, incoming: V): V;
}

/** Records per LevelDB batch: bounds memory whatever the database's size. */
const BATCH_RECORDS = 500;

/** Renames the key parts at `positions` (negative: from the end) and the string `fields` of the value. */
function renamer<V>(renames: Renames, positions: number[], fields: (keyof V)[] = []) {
  return (k: string, v: V): Renamed<V> => {
    const parts = k.split('!');
    let changed = false;
    for (const p of positions) {
      const at = p < 0 ? parts.length + p : p;
      const to = renames.get(parts[at]);
      if (to) {
        parts[at] = to;
        changed = true;
      }
    }
    let value = v;
    for (const field of fields) {
      const to = renames.get(v[field] as string);
      if (to) {
        value = { ...value, [field]: to };
        changed = true;
      }
    }
    return changed ? { key: parts.join('!'), value } : undefined;
  };
}

const keepExisting = <V>(existing: V): V => existing;

/** The per-field actors of an object record, renamed; undefined when nothing at all changed. */
function renameActors(
  renames: Renames,
  renamed: { key: string; value: ObjectRecord },
  original: ObjectRecord,
): Renamed<ObjectRecord> {
  const actors = renamed.value.actors;
  let changed = renamed.value !== original;
  const next: NonNullable<ObjectRecord['actors']> = {};
  for (const [field, actor] of Object.entries(actors ?? {}) as [keyof ObjectRecord['stamps'], string][]) {
    const to = renames.get(actor);
    next[field] = to ?? actor;
    if (to) changed = true;
  }
  if (!changed) return undefined;
  return { key: renamed.key, value: actors ? { ...renamed.value, actors: next } : renamed.value };
}
const laterStamp = (a: AttributeRecord, b: AttributeRecord) => (b.stamp > a.stamp ? b : a);

/** Where each attribute family keeps user ids in its storage key (node/attributes/targets.ts). */
const USER_PARTS_BY_FAMILY: Record<string, number[]> = { user: [0], objectUser: [-1], userUser: [0, 1] };

/** The user-naming attribute tables, by family (names are on-disk key prefixes). */
const ATTRIBUTE_TABLES = { user: 'attr-user', objectUser: 'attr-object-user', userUser: 'attr-user-user' };

function rewrites(db: Tables, renames: Renames): ReferenceRewrite<never>[] {
  type Membership = { role: 'admin'; grantedBy: string; grantedAt: number };
  const attributes = (family: 'user' | 'objectUser' | 'userUser'): ReferenceRewrite<AttributeRecord> => ({
    name: `attributes.${family}`,
    sublevel: db.sublevel<AttributeRecord>(ATTRIBUTE_TABLES[family]),
    rename: renamer<AttributeRecord>(renames, USER_PARTS_BY_FAMILY[family]),
    keep: laterStamp,
  });
  const list = [
    {
      name: 'positions',
      sublevel: db.sublevel<PositionRecord>('positions'),
      rename: renamer<PositionRecord>(renames, [0]),
      keep: (a: PositionRecord, b: PositionRecord) => (b.at > a.at ? b : a),
    } satisfies ReferenceRewrite<PositionRecord>,
    {
      name: 'members',
      sublevel: db.sublevel<{ role: 'admin'; grantedBy: string; grantedAt: number }>('members'),
      rename: renamer<Membership>(renames, [1], ['grantedBy']),
      keep: (a: Membership, b: Membership) => (b.grantedAt < a.grantedAt ? b : a),
    } satisfies ReferenceRewrite<Membership>,
    // The owner keeps its HLC stamp: this is the same owner under its new name, not an edit to merge.
    {
      name: 'objects',
      sublevel: db.sublevel<ObjectRecord>('objects'),
      rename: (k: string, v: ObjectRecord) =>
        renameActors(
          renames,
          renamer<ObjectRecord>(renames, [], ['ownerId'])(k, v) ?? { key: k, value: v },
          v,
        ),
      keep: keepExisting,
    } satisfies ReferenceRewrite<ObjectRecord>,
    {
      // Object attributes name the user who wrote them (federation checks it on other nodes).
      name: 'attributes.object',
      sublevel: db.sublevel<AttributeRecord>('attr-object'),
      rename: renamer<AttributeRecord>(renames, [], ['actor']),
      keep: keepExisting,
    } satisfies ReferenceRewrite<AttributeRecord>,
    {
      name: 'activities',
      sublevel: db.sublevel<ActivityRecord>('activities'),
      rename: renamer<ActivityRecord>(renames, [], ['userId']),
      keep: keepExisting,
    } satisfies ReferenceRewrite<ActivityRecord>,
    {
      name: 'pendingStakes',
      sublevel: db.sublevel<PendingStakeRecord>('pending-stakes'),
      rename: renamer(renames, [], ['userId']),
      keep: keepExisting,
    },
    {
      name: 'assets',
      sublevel: db.sublevel<AssetRecord>('assets'),
      rename: renamer<AssetRecord>(renames, [], ['uploader']),
      keep: keepExisting,
    } satisfies ReferenceRewrite<AssetRecord>,
    attributes('user'),
    attributes('objectUser'),
    attributes('userUser'),
    {
      // Keys are `family!<the attribute's storage key>`: the user parts sit one further along.
      name: 'attributeOptions',
      sublevel: db.sublevel<AttributeOptions>('attr-options'),
      rename: (k: string, v: unknown) => {
        const family = k.slice(0, k.indexOf('!'));
        const positions = (USER_PARTS_BY_FAMILY[family] ?? []).map((p) => (p < 0 ? p : p + 1));
        return renamer<unknown>(renames, positions)(k, v);
      },
      keep: keepExisting,
    },
  ];
  return list as unknown as ReferenceRewrite<never>[];
}

/** Renames users in every record that names one; returns how many records each sublevel had renamed. */
export async function renameUserReferences(
  db: Tables,
  renames: Renames,
  log: Logger,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const rewrite of rewrites(db, renames)) counts[rewrite.name] = await apply(db, rewrite, log);
  return counts;
}

async function apply<V>(db: Tables, rewrite: ReferenceRewrite<V>, log: Logger): Promise<number> {
  type Op =
    | { type: 'put'; sublevel: Sublevel<V>; key: string; value: V }
    | { type: 'del'; sublevel: Sublevel<V>; key: string };
  let ops: Op[] = [];
  /** What this batch writes, so that two records landing on one key within it are seen to clash. */
  const pending = new Map<string, V>();
  const flush = async () => {
    if (ops.length > 0) await db.level.batch(ops as never);
    ops = [];
    pending.clear();
  };
  let renamed = 0;
  for await (const [k, v] of rewrite.sublevel.iterator()) {
    const next = rewrite.rename(k, v);
    if (!next) continue;
    let value = next.value;
    if (next.key !== k) {
      const clash = pending.get(next.key) ?? (await rewrite.sublevel.get(next.key));
      if (clash !== undefined) {
        value = rewrite.keep(clash, next.value);
        const dropped = value === clash ? next.value : clash;
        log.warn(
          { sublevel: rewrite.name, key: next.key, from: k, dropped },
          'merged users had a record each under one key: kept one, dropped the other (logged here)',
        );
      }
      ops.push({ type: 'del', sublevel: rewrite.sublevel, key: k });
    }
    ops.push({ type: 'put', sublevel: rewrite.sublevel, key: next.key, value });
    pending.set(next.key, value);
    renamed++;
    if (ops.length >= BATCH_RECORDS) await flush();
  }
  await flush();
  return renamed;
}

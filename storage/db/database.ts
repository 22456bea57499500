/**
 * LevelDB with typed sublevels, values in CBOR. Every write a client is told about goes through here
 * first; several keys that change together go in one atomic batch.
 */

import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { Level } from 'level';
import { type Logger, pino } from 'pino';
import { migrateUploadUsage } from './migrations/upload-usage.ts';
import { migrateWalletUserIds } from './migrations/wallet-user-ids.ts';
import { DatabaseError, type Sublevel, type Tables } from './tables.ts';

const cbor = <V>() => ({
  name: 'cbor',
  format: 'buffer' as const,
  encode: (value: V): Buffer => cborEncode(value),
  decode: (bytes: Buffer): V => cborDecode(bytes) as V,
});

/** The schema this code writes. Bump it with a migration in MIGRATIONS. */
export const SCHEMA_VERSION = 4;

type Migration = (db: Tables, log: Logger) => Promise<void>;
/**
 * MIGRATIONS[n] upgrades a database at version n to n+1. A migration must be safe to run again from the
 * start after a crash part way: the version is bumped only after it returns. A new, empty database is
 * written at SCHEMA_VERSION directly and runs none of them (see `migrate`).
 */
const MIGRATIONS: Record<number, Migration> = {
  // Version 0: a database with records but no schema mark, written before versions were kept: its
  // records already have the shape of version 1.
  0: async () => {},
  1: migrateWalletUserIds,
  2: migrateUploadUsage,
  // The "hints from peers" stub kept unverified events that nothing ever acted on; chains shared between
  // nodes (harvester/peers/peer-adapter.ts) apply only blocks a quorum of peers published, so the hints are dropped.
  3: async (db) => {
    await db.sublevel('chain-hints').clear();
  },
};

/** A key inside a sublevel. `!` never occurs in UMIDs, plugin ids or attribute names we accept. */
export const key = (...parts: string[]): string => parts.join('!');

export { DatabaseError, type Sublevel } from './tables.ts';

/** LevelDB's LOCK file is held (by another process): classic-level says LEVEL_LOCKED on the cause. */
function isLocked(error: unknown): boolean {
  for (let e = error as { code?: string; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (e.code === 'LEVEL_LOCKED') return true;
    e = e.cause as typeof e;
  }
  return false;
}

export class Database implements Tables {
  readonly level: Level<string, unknown>;
  readonly meta;
  // The stores own their tables and declare them with `sublevel` (worlds: `worldTables`, attributes:
  // `attributeTables` and `catalogTables`, the harvester: `chainTables`, object storage: `assetTables`,
  // federation: `mirrorTables`, users, grants, activities, stakes); only the schema mark lives here.
  private readonly log: Logger;

  constructor(location: string, options: { logger?: Logger } = {}) {
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'database' });
    this.level = new Level<string, unknown>(location, {
      keyEncoding: 'utf8',
      valueEncoding: cbor<unknown>(),
    });
    const sub = <V>(name: string) => this.sublevel<V>(name);
    this.meta = sub<unknown>('meta');
  }

  /**
   * A sublevel, values in CBOR. The store that owns a table declares it with this (its name is the key
   * prefix on disk, so it never changes); a migration names the tables of its schema version the same way.
   */
  sublevel<V>(name: string): Sublevel<V> {
    return this.level.sublevel<string, V>(name, { keyEncoding: 'utf8', valueEncoding: cbor<V>() });
  }

  async open(): Promise<void> {
    try {
      await this.level.open();
    } catch (cause) {
      if (isLocked(cause))
        throw new DatabaseError(
          `another process is using the data dir: LevelDB at ${this.level.location} is locked (is another node running on it?)`,
          { cause },
        );
      throw new DatabaseError(`cannot open LevelDB at ${this.level.location}: ${(cause as Error).message}`, {
        cause,
      });
    }
    await this.migrate();
  }

  async close(): Promise<void> {
    await this.level.close();
  }

  async schemaVersion(): Promise<number> {
    return ((await this.meta.get('schema')) as number | undefined) ?? 0;
  }

  /** True when LevelDB holds no key at all: a data dir created just now. */
  private async isEmpty(): Promise<boolean> {
    for await (const _ of this.level.keys({ limit: 1 })) return false;
    return true;
  }

  private async migrate(): Promise<void> {
    let version = await this.schemaVersion();
    if (version > SCHEMA_VERSION) {
      throw new DatabaseError(
        `data was written by a newer odyssey-node (schema ${version} > ${SCHEMA_VERSION})`,
      );
    }
    // Nothing to upgrade in a new database: it starts at the schema this code writes. Version 0 alone
    // does not say so, since a database written before versions were kept has records and no mark.
    if (version === 0 && (await this.isEmpty())) {
      await this.meta.put('schema', SCHEMA_VERSION);
      return;
    }
    while (version < SCHEMA_VERSION) {
      if (version > 0) this.log.info({ from: version, to: version + 1 }, 'migrating the database');
      await MIGRATIONS[version](this, this.log);
      version++;
      await this.meta.put('schema', version);
    }
  }
}

/** All entries of a sublevel whose keys start with `prefix!`. */
export async function valuesWithPrefix<V>(sublevel: Sublevel<V>, prefix: string): Promise<[string, V][]> {
  const entries: [string, V][] = [];
  for await (const [k, v] of sublevel.iterator({ gt: `${prefix}!`, lt: `${prefix}!\xff` })) {
    entries.push([k, v]);
  }
  return entries;
}

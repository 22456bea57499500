/**
 * LevelDB with typed sublevels, values in CBOR. Every write a client is told about goes through here
 * first; several keys that change together go in one atomic batch.
 */

import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { Level } from 'level';
import { type Logger, pino } from 'pino';
import type {
  ChainBlockRecord,
  ChainCheckpointRecord,
  ChainEventRecord,
  ChainPeerRecord,
} from './chain-records.ts';
import { migrateWalletUserIds } from './migrations/wallet-user-ids.ts';
import type {
  AssetRecord,
  AttributeOptions,
  AttributeRecord,
  AttributeTypeRecord,
  ObjectRecord,
  PluginRecord,
} from './records.ts';
import { DatabaseError, type Sublevel, type Tables } from './tables.ts';

const cbor = <V>() => ({
  name: 'cbor',
  format: 'buffer' as const,
  encode: (value: V): Buffer => cborEncode(value),
  decode: (bytes: Buffer): V => cborDecode(bytes) as V,
});

/** The schema this code writes. Bump it with a migration in MIGRATIONS. */
export const SCHEMA_VERSION = 4;

type Migration = (db: Database, log: Logger) => Promise<void>;
/**
 * MIGRATIONS[n] upgrades a database at version n to n+1. Version 0 is an empty database. A migration must
 * be safe to run again from the start after a crash part way: the version is bumped only after it returns.
 */
const MIGRATIONS: Record<number, Migration> = {
  0: async () => {},
  1: migrateWalletUserIds,
  // Upload usage per uploader, from the asset records already stored (after the renames above).
  2: async (db) => {
    // Derived data: rebuilt from scratch, so a rerun (or a table left by a crash) ends the same.
    await db.uploadUsage.clear();
    const usage = new Map<string, number>();
    for await (const record of db.assets.values()) {
      usage.set(record.uploader, (usage.get(record.uploader) ?? 0) + record.size);
    }
    await db.uploadUsage.batch([...usage].map(([key, value]) => ({ type: 'put' as const, key, value })));
  },
  // The "hints from peers" stub kept unverified events that nothing ever acted on; chains shared between
  // nodes (harvester/peers/peer-adapter.ts) apply only blocks a quorum of peers published, so the hints are dropped.
  3: async (db) => {
    await db.level.sublevel('chain-hints').clear();
  },
};

export type AttributeFamily = 'node' | 'object' | 'objectUser' | 'user' | 'userUser';

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
  readonly objects;
  /** worldId!objectId → 1: the objects of a world, for loading a world without a scan. */
  readonly worldObjects;
  readonly attributes: Record<AttributeFamily, Sublevel<AttributeRecord>>;
  /** pluginId → plugin */
  readonly plugins;
  /** pluginId!name → attribute type */
  readonly attributeTypes;
  /** family!<the attribute's key in its family sublevel> → per-row options overriding the type's */
  readonly attributeOptions;
  /** Harvester: chainId → last processed block. */
  readonly chainCheckpoints;
  /** Harvester: chainId!<block number, 12 digits> → processed block (hash, event ids, undo entries). */
  readonly chainBlocks;
  /** Harvester: event id (chainId:txHash:logIndex) → normalised event. */
  readonly chainEvents;
  /** Harvester: derived state (balances, NFT owners, stakes) → value, see harvester/state.ts. */
  readonly chainState;
  /** Harvester: chainId!peerId → disagreements found in the peer's chain publications, distrust. */
  readonly chainPeers;
  /** cid → asset metadata (object storage) */
  readonly assets;
  /** umid → cid: the asset id PosBus carries, back to its CID */
  readonly assetUmids;
  /** userId → bytes of the assets recorded with them as uploader (written with those records) */
  readonly uploadUsage;
  private readonly log: Logger;

  constructor(location: string, options: { logger?: Logger } = {}) {
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'database' });
    this.level = new Level<string, unknown>(location, {
      keyEncoding: 'utf8',
      valueEncoding: cbor<unknown>(),
    });
    const sub = <V>(name: string) => this.sublevel<V>(name);
    this.meta = sub<unknown>('meta');
    this.objects = sub<ObjectRecord>('objects');
    this.worldObjects = sub<number>('world-objects');
    this.attributes = {
      node: sub<AttributeRecord>('attr-node'),
      object: sub<AttributeRecord>('attr-object'),
      objectUser: sub<AttributeRecord>('attr-object-user'),
      user: sub<AttributeRecord>('attr-user'),
      userUser: sub<AttributeRecord>('attr-user-user'),
    };
    this.plugins = sub<PluginRecord>('plugins');
    this.attributeTypes = sub<AttributeTypeRecord>('attribute-types');
    this.attributeOptions = sub<AttributeOptions>('attr-options');
    this.chainCheckpoints = sub<ChainCheckpointRecord>('chain-checkpoints');
    this.chainBlocks = sub<ChainBlockRecord>('chain-blocks');
    this.chainEvents = sub<ChainEventRecord>('chain-events');
    this.chainState = sub<string>('chain-state');
    this.chainPeers = sub<ChainPeerRecord>('chain-peers');
    this.assets = sub<AssetRecord>('assets');
    this.assetUmids = sub<string>('asset-umids');
    this.uploadUsage = sub<number>('upload-usage');
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

  private async migrate(): Promise<void> {
    let version = await this.schemaVersion();
    if (version > SCHEMA_VERSION) {
      throw new DatabaseError(
        `data was written by a newer odyssey-node (schema ${version} > ${SCHEMA_VERSION})`,
      );
    }
    while (version < SCHEMA_VERSION) {
      if (version > 0) this.log.info({ from: version, to: version + 1 }, 'migrating the database');
      await MIGRATIONS[version](this, this.log);
      version++;
      await this.meta.put('schema', version);
    }
  }

  /** All values of a sublevel whose keys start with `prefix!`. */
  valuesWithPrefix<V>(sublevel: Sublevel<V>, prefix: string): Promise<[string, V][]> {
    return valuesWithPrefix(sublevel, prefix);
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

/**
 * Timeline activities in LevelDB: `activities` (activityId → record) and the index `object-activities`
 * (objectId!activityId). Activity ids are UUIDv7, so key order is creation order and a page of the
 * newest is a reverse range read. Counts are kept in memory (loaded by `start`) so paging never scans.
 */

import { uuidv7 } from '../../protocol/uuid.ts';
import { type Database, key } from '../../storage/db/database.ts';
import type { ActivityDataRecord, ActivityRecord } from '../../storage/db/records.ts';

export interface ActivityPage {
  activities: ActivityRecord[];
  totalCount: number;
}

export type ActivityPatch = Partial<Pick<ActivityRecord, 'type'> & Omit<ActivityDataRecord, 'position'>>;

export const emptyActivityData = (): ActivityDataRecord => ({
  position: null,
  description: null,
  hash: null,
  tokenSymbol: null,
  tokenAmount: null,
  bcTxHash: null,
  bcLogIndex: null,
});

/** The tables of activities (names are on-disk key prefixes: never rename them). */
export function activityTables(db: Database) {
  return {
    level: db.level,
    /** activityId → activity (ids are UUIDv7, so key order is creation order) */
    activities: db.sublevel<ActivityRecord>('activities'),
    /** objectId!activityId → 1: an object's timeline */
    objectActivities: db.sublevel<number>('object-activities'),
  };
}

export class ActivityStore {
  private readonly db: ReturnType<typeof activityTables>;
  private total = 0;
  private readonly perObject = new Map<string, number>();
  /** Writes run one at a time, so that counts and read-modify-writes never interleave. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Milliseconds of the last id handed out: ids stay strictly increasing within one process. */
  private lastIdMs = 0;

  constructor(components: { db: Database }) {
    this.db = activityTables(components.db);
  }

  /** Loads the counts (one key scan of the index). */
  async start(): Promise<void> {
    this.total = 0;
    this.perObject.clear();
    for await (const k of this.db.objectActivities.keys()) {
      const objectId = k.slice(0, k.indexOf('!'));
      this.perObject.set(objectId, (this.perObject.get(objectId) ?? 0) + 1);
      this.total++;
    }
  }

  get(activityId: string): Promise<ActivityRecord | undefined> {
    return this.db.activities.get(activityId);
  }

  /** Stores a new activity; id and creation time are assigned here. */
  create(input: Omit<ActivityRecord, 'activityId' | 'createdAt'>): Promise<ActivityRecord> {
    return this.serial(async () => {
      const { record, ops } = this.prepare(input);
      await this.db.level.batch(ops as never);
      this.added(record);
      return record;
    });
  }

  /**
   * A new activity and the writes that store it, for a caller that commits them in its own batch (the
   * harvester's block batch); call `added` once that batch is written.
   */
  prepare(input: Omit<ActivityRecord, 'activityId' | 'createdAt'>): {
    record: ActivityRecord;
    ops: { type: 'put'; sublevel: unknown; key: string; value: unknown }[];
  } {
    const now = Date.now();
    this.lastIdMs = Math.max(now, this.lastIdMs + 1);
    const record: ActivityRecord = { ...input, activityId: uuidv7(this.lastIdMs), createdAt: now };
    const ops = [
      { type: 'put' as const, sublevel: this.db.activities, key: record.activityId, value: record },
      {
        type: 'put' as const,
        sublevel: this.db.objectActivities,
        key: key(record.objectId, record.activityId),
        value: 1,
      },
    ];
    return { record, ops };
  }

  /** The writes that delete an activity, for a caller's own batch; call `subtracted` once it is written. */
  removalOps(record: ActivityRecord): { type: 'del'; sublevel: unknown; key: string }[] {
    return [
      { type: 'del', sublevel: this.db.activities, key: record.activityId },
      { type: 'del', sublevel: this.db.objectActivities, key: key(record.objectId, record.activityId) },
    ];
  }

  /** Uncounts an activity whose removal ops are committed. */
  subtracted(record: ActivityRecord): void {
    this.total = Math.max(0, this.total - 1);
    const left = (this.perObject.get(record.objectId) ?? 1) - 1;
    if (left > 0) this.perObject.set(record.objectId, left);
    else this.perObject.delete(record.objectId);
  }

  /** Counts a prepared activity whose writes are committed. */
  added(record: ActivityRecord): void {
    this.total++;
    this.perObject.set(record.objectId, (this.perObject.get(record.objectId) ?? 0) + 1);
  }

  /** Merges a patch into an activity; undefined when it does not exist. */
  update(activityId: string, patch: ActivityPatch): Promise<ActivityRecord | undefined> {
    return this.serial(async () => {
      const current = await this.get(activityId);
      if (!current) return undefined;
      const { type, ...data } = patch;
      const defined = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
      const next: ActivityRecord = {
        ...current,
        type: type ?? current.type,
        data: { ...current.data, ...defined },
      };
      await this.db.activities.put(activityId, next);
      return next;
    });
  }

  /** Deletes an activity; the removed record, or undefined when there was none. */
  remove(activityId: string): Promise<ActivityRecord | undefined> {
    return this.serial(async () => {
      const current = await this.get(activityId);
      if (!current) return undefined;
      await this.db.level.batch([
        { type: 'del', sublevel: this.db.activities, key: activityId },
        { type: 'del', sublevel: this.db.objectActivities, key: key(current.objectId, activityId) },
      ]);
      this.total--;
      const left = (this.perObject.get(current.objectId) ?? 1) - 1;
      if (left > 0) this.perObject.set(current.objectId, left);
      else this.perObject.delete(current.objectId);
      return current;
    });
  }

  /** Newest first, across every object (the newsfeed). */
  async newest(startIndex: number, pageSize: number): Promise<ActivityPage> {
    const ids = await this.db.activities.keys({ reverse: true, limit: startIndex + pageSize }).all();
    return { activities: await this.load(ids.slice(startIndex)), totalCount: this.total };
  }

  /** Newest first, of one object (its timeline). */
  async ofObject(objectId: string, startIndex: number, pageSize: number): Promise<ActivityPage> {
    const prefix = `${objectId}!`;
    const keys = await this.db.objectActivities
      .keys({ gt: prefix, lt: `${prefix}\xff`, reverse: true, limit: startIndex + pageSize })
      .all();
    const ids = keys.slice(startIndex).map((k) => k.slice(prefix.length));
    return { activities: await this.load(ids), totalCount: this.perObject.get(objectId) ?? 0 };
  }

  private async load(ids: string[]): Promise<ActivityRecord[]> {
    if (!ids.length) return [];
    const records = await this.db.activities.getMany(ids);
    return records.filter((r): r is ActivityRecord => r !== undefined);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => {});
    return run;
  }
}

/** The activity record as routes see it. */
export type { ActivityRecord } from '../../storage/db/records.ts';

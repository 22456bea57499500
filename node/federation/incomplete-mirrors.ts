/**
 * Worlds this node set out to mirror whose first full pull has not completed. A pull cut midway (the
 * holder died, the stream was reset, a window timed out) leaves part of a world in the store, and the
 * store cannot tell a part from a whole: this can. The mark is in LevelDB, so a node restarted meanwhile
 * does not take the part it loads for the world either. Federation keeps such a world out of its
 * announcements, teleports and the world syncs it answers, and pulls it again until a pull completes.
 */
import type { Database } from '../../storage/db/database.ts';

/** The table of federation (its name is the key prefix on disk: never rename it). */
export function mirrorTables(db: Database) {
  return {
    /** worldId → when its mirror began (ms): a world pulled in part only. */
    incompleteMirrors: db.sublevel<number>('incomplete-mirrors'),
  };
}

export class IncompleteMirrors {
  private readonly table: ReturnType<typeof mirrorTables>['incompleteMirrors'];
  private readonly worlds = new Set<string>();

  constructor(components: { db: Database }) {
    this.table = mirrorTables(components.db).incompleteMirrors;
  }

  /** Reads the marks a previous run left (its pulls were cut by the stop, or never completed). */
  async load(): Promise<void> {
    for await (const worldId of this.table.keys()) this.worlds.add(worldId);
  }

  has(worldId: string): boolean {
    return this.worlds.has(worldId);
  }

  ids(): string[] {
    return [...this.worlds];
  }

  /** Marks a world before its first pull writes anything: resolves once the mark is on disk. */
  async mark(worldId: string): Promise<void> {
    if (this.worlds.has(worldId)) return;
    this.worlds.add(worldId);
    await this.table.put(worldId, Date.now());
  }

  /** The world is whole (a pull of it completed), or nothing of it is stored: nothing left to protect. */
  async clear(worldId: string): Promise<void> {
    if (!this.worlds.delete(worldId)) return;
    await this.table.del(worldId);
  }
}

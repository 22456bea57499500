/**
 * What code below `Database` needs of it (the migrations): the LevelDB handle, the `meta` table and
 * tables by name. Kept apart from database.ts so that database.ts can run the migrations without the two
 * importing each other.
 */
import type { AbstractSublevel } from 'abstract-level';
import type { Level } from 'level';

export type Sublevel<V> = AbstractSublevel<Level<string, unknown>, string | Buffer | Uint8Array, string, V>;

export class DatabaseError extends Error {
  override readonly name = 'DatabaseError';
}

export interface Tables {
  readonly level: Level<string, unknown>;
  readonly meta: Sublevel<unknown>;
  /** A table by its name (the key prefix on disk), values in CBOR. */
  sublevel<V>(name: string): Sublevel<V>;
}

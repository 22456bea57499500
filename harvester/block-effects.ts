/**
 * What the node does with a block's new events besides the chain state (stake confirmations, timeline
 * activities), written in the SAME LevelDB batch as the block's events, derived state and checkpoint.
 * A crash therefore never leaves a block committed without its effects (they would be lost: a replayed
 * block skips events already stored) nor effects without their block; likewise a rollback and the undoing
 * of the effects of the events it removes.
 *
 * The harvester knows only this interface; the node's stake controller implements it.
 */
import type { ChainEvent } from './adapter.ts';

/** One write of a LevelDB chained batch, on a sublevel of the node's database. */
export type BatchOp =
  | { type: 'put'; sublevel: unknown; key: string; value: unknown }
  | { type: 'del'; sublevel: unknown; key: string };

export interface BlockEffect {
  /** Writes that go into the block's batch. */
  ops: BatchOp[];
  /** Runs once the batch is committed (tell clients, update in-memory counts); never before. */
  committed?: () => void | Promise<void>;
}

export interface BlockEffects {
  /**
   * The writes for the events a block applies now (never seen before). Anything written here directly,
   * outside the returned ops, must be idempotent: the block may still fail to commit and be retried.
   */
  prepare(events: readonly ChainEvent[]): Promise<BlockEffect>;
  /**
   * The writes that take back what `prepare` did for events a reorg removes; they go in the rollback's
   * batch.
   */
  undo(events: readonly ChainEvent[]): Promise<BlockEffect>;
  /**
   * Runs a block's prepare-and-commit exclusive of the implementer's own writes, so that what `prepare`
   * read is still true when the batch is written (a client's stake report never races its own event).
   */
  exclusive<T>(commit: () => Promise<T>): Promise<T>;
}

/**
 * Reads of the blocks the chain store kept (the reorg window), as chain sharing needs them: the block at
 * a height, the last block that had events, the blocks with events in a range. Read-only: every write
 * stays in chain-store.ts.
 */
import type { ChainBlockRecord } from '../../storage/db/chain-records.ts';
import type { Database, Sublevel } from '../../storage/db/database.ts';
import type { BlockRef } from '../adapter.ts';
import { blockKey, chainTables } from '../chain-store.ts';

const ref = (b: ChainBlockRecord): BlockRef => ({ number: b.number, hash: b.hash });

/**
 * Whether a stored block had events peers share: ids of log events end in `:<tx hash>:<log index>`;
 * native-balance samples (`<chain>:balance:<block>:<wallet>`) are this node's own and do not count.
 */
const hasShared = (b: ChainBlockRecord): boolean => b.eventIds.some((id) => /:0x[0-9a-f]*:\d+$/.test(id));

export class StoredBlocks {
  private readonly blocks: Sublevel<ChainBlockRecord>;

  constructor(db: Database) {
    this.blocks = chainTables(db).blocks;
  }

  async at(chainId: string, n: number): Promise<ChainBlockRecord | undefined> {
    return this.blocks.get(blockKey(chainId, n));
  }

  /** The highest stored block at or below `n` that had shared events; null when the window holds none. */
  async lastWithEvents(chainId: string, n: number): Promise<BlockRef | null> {
    for await (const b of this.blocks.values({
      gte: `${chainId}!`,
      lte: blockKey(chainId, n),
      reverse: true,
    })) {
      if (hasShared(b)) return ref(b);
    }
    return null;
  }

  /** Stored blocks with events strictly between `after` and `before`, lowest first. */
  async withEventsBetween(chainId: string, after: number, before: number): Promise<BlockRef[]> {
    const out: BlockRef[] = [];
    if (before - after < 2) return out;
    for await (const b of this.blocks.values({
      gt: after < 0 ? `${chainId}!` : blockKey(chainId, after),
      lt: blockKey(chainId, before),
    })) {
      if (hasShared(b)) out.push(ref(b));
    }
    return out;
  }

  /** Stored blocks with shared events from `from` to `to` (inclusive), lowest first, at most `limit`. */
  async withEventsIn(chainId: string, from: number, to: number, limit: number): Promise<ChainBlockRecord[]> {
    const out: ChainBlockRecord[] = [];
    for await (const b of this.blocks.values({
      gte: blockKey(chainId, from),
      lte: blockKey(chainId, to),
    })) {
      if (!hasShared(b)) continue;
      out.push(b);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The highest stored block strictly below `n`. */
  async below(chainId: string, n: number): Promise<BlockRef | null> {
    for await (const b of this.blocks.values({
      gte: `${chainId}!`,
      lt: blockKey(chainId, Math.max(0, n)),
      reverse: true,
      limit: 1,
    })) {
      return ref(b);
    }
    return null;
  }

  /** The lowest stored block's number: below it, nothing can be checked any more. */
  async oldest(chainId: string): Promise<number | null> {
    for await (const b of this.blocks.values({
      gte: `${chainId}!`,
      lt: `${chainId}!\xff`,
      limit: 1,
    })) {
      return b.number;
    }
    return null;
  }
}

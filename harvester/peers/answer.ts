/**
 * What this node answers a peer that pulls blocks of a chain it reads through its own RPC
 * (protocol/gossip/chain-pull.ts): the blocks with shared events it committed in the asked range, each
 * exactly as it published (or would have published) it — same events, same link — so that an answer and a
 * gossiped publication of one block get the same digest and count as one vote. Reads committed state
 * only (LevelDB), never waits for the harvester's loop.
 */
import {
  type ChainBlockAnnouncement,
  MAX_CHAIN_EVENTS,
  MAX_PULL_BLOCKS,
} from '../../protocol/gossip/index.ts';
import type { ChainBlockRecord } from '../../storage/db/chain-records.ts';
import type { ChainEvent } from '../adapter.ts';
import type { ChainStore } from '../chain-store.ts';
import type { StoredBlocks } from './blocks.ts';
import { isShared, toWire } from './wire.ts';

export interface PullAnswer {
  blocks: ChainBlockAnnouncement[];
  /** First height not covered (the range's end + 1 unless the answer stopped at MAX_PULL_BLOCKS). */
  next: number;
  head: number | null;
  oldest: number | null;
}

/** The shared events a stored block was committed with, as this node's own (what it published). */
export async function sharedEventsOf(
  store: ChainStore,
  record: ChainBlockRecord | undefined,
): Promise<ChainEvent[]> {
  const own: ChainEvent[] = [];
  for (const id of record?.eventIds ?? []) {
    const e = await store.event(id);
    if (e && isShared(e)) own.push(e);
  }
  return own;
}

export async function answerPull(
  components: { blocks: StoredBlocks; store: ChainStore },
  request: { chainId: string; from: number; to: number },
  head: number | null,
  /** The accounts this node's publications say they cover (undefined: every account). */
  accounts?: string[],
): Promise<PullAnswer> {
  const { blocks, store } = components;
  const { chainId, from } = request;
  // Nothing above what this node processed: an answer names only committed blocks.
  const to = head === null ? from - 1 : Math.min(request.to, head);
  const oldest = await blocks.oldest(chainId);
  const found = to >= from ? await blocks.withEventsIn(chainId, from, to, MAX_PULL_BLOCKS) : [];
  let link = found.length ? await blocks.lastWithEvents(chainId, found[0].number - 1) : null;
  const out: ChainBlockAnnouncement[] = [];
  for (const record of found) {
    const events = (await sharedEventsOf(store, record)).map(toWire);
    const block = { number: record.number, hash: record.hash };
    // A block too large to publish is left out here too: gossip never carried it either.
    if (events.length <= MAX_CHAIN_EVENTS)
      out.push({ chainId, ...block, link, events, ...(accounts ? { accounts } : {}) });
    link = block;
  }
  const full = found.length >= MAX_PULL_BLOCKS;
  const next = full ? found[found.length - 1].number + 1 : request.to + 1;
  return { blocks: out, next, head, oldest };
}

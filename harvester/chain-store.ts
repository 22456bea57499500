/**
 * The harvester's LevelDB side. `applyBlock` writes a block's new events, the state they derive, the
 * undo entries, the checkpoint and the node's effects of those events (BlockEffects) in ONE batch;
 * `rollback` undoes blocks above a common ancestor in ONE batch. An event already stored is skipped, so
 * replaying a block changes nothing.
 */
import type {
  ChainBlockRecord,
  ChainCheckpointRecord,
  ChainEventRecord,
  ChainPeerRecord,
} from '../storage/db/chain-records.ts';
import type { Database } from '../storage/db/database.ts';
import type { BlockRef, ChainEvent, ProcessedBlocks } from './adapter.ts';
import type { BlockEffects, BatchOp as Op } from './block-effects.ts';
import { applyEvent, canonicalId, emptyTouched, type StateView, stateKey, type Touched } from './state.ts';

/** Block numbers as fixed-width text, so key order is block order. */
const pad = (n: number) => `${n}`.padStart(12, '0');
export const blockKey = (chainId: string, n: number) => `${chainId}!${pad(n)}`;

/**
 * The harvester's tables (names are on-disk key prefixes: never rename them): chain state, the blocks of
 * the reorg window (read by chain sharing too, `harvester/peers/blocks.ts`) and what this node holds
 * against peers' publications (`harvester/peers/trust.ts`).
 */
export function chainTables(db: Database) {
  return {
    level: db.level,
    /** chainId → last processed block */
    checkpoints: db.sublevel<ChainCheckpointRecord>('chain-checkpoints'),
    /** chainId!<block number, 12 digits> → processed block (hash, event ids, undo entries) */
    blocks: db.sublevel<ChainBlockRecord>('chain-blocks'),
    /** event id (chainId:txHash:logIndex) → normalised event */
    events: db.sublevel<ChainEventRecord>('chain-events'),
    /** derived state (balances, NFT owners, stakes) → value, see state.ts */
    state: db.sublevel<string>('chain-state'),
    /** chainId!peerId → disagreements found in the peer's chain publications, distrust */
    peers: db.sublevel<ChainPeerRecord>('chain-peers'),
  };
}

export interface Applied {
  /** Events applied now (not seen before). */
  events: ChainEvent[];
  touched: Touched;
}

export class ChainStore {
  private readonly db: ReturnType<typeof chainTables>;
  private effects: BlockEffects | undefined;

  constructor(components: { db: Database }) {
    this.db = chainTables(components.db);
  }

  /** What the node adds to every block's batch, whichever way the block arrives (see block-effects.ts). */
  setEffects(effects: BlockEffects): void {
    this.effects = effects;
  }

  async checkpoint(chainId: string): Promise<BlockRef | undefined> {
    const c = await this.db.checkpoints.get(chainId);
    return c ? { number: c.number, hash: c.hash } : undefined;
  }

  /** The stored block refs of a chain, for the adapter's common-ancestor search. */
  processed(chainId: string): ProcessedBlocks {
    return {
      below: async (height, limit) => {
        const refs: BlockRef[] = [];
        const it = this.db.blocks.values({
          gte: `${chainId}!`,
          lt: blockKey(chainId, Math.max(0, height)),
          reverse: true,
          limit,
        });
        for await (const b of it) refs.push({ number: b.number, hash: b.hash });
        return refs;
      },
    };
  }

  /**
   * Writes one block: new events, derived state, undo entries, checkpoint and the node's effects of the
   * new events, all in one batch; prunes old undo records. Then lets the effects tell clients.
   */
  async applyBlock(
    chainId: string,
    block: BlockRef,
    events: ChainEvent[],
    keepBlocks: number,
  ): Promise<Applied> {
    const effects = this.effects;
    const write = () => this.writeBlock(chainId, block, events, keepBlocks, effects);
    const { applied, committed } = await (effects ? effects.exclusive(write) : write());
    await committed?.();
    return applied;
  }

  private async writeBlock(
    chainId: string,
    block: BlockRef,
    events: ChainEvent[],
    keepBlocks: number,
    effects: BlockEffects | undefined,
  ): Promise<{ applied: Applied; committed?: () => void | Promise<void> }> {
    const db = this.db;
    // Writes of this block, readable by its later events; the database still holds the values before it.
    const pending = new Map<string, string | null>();
    const view: StateView = {
      get: async (k) => (pending.has(k) ? (pending.get(k) ?? null) : ((await db.state.get(k)) ?? null)),
      set: (k, v) => void pending.set(k, v),
    };
    const touched = emptyTouched();
    const applied: ChainEvent[] = [];
    const ops: Op[] = [];
    for (const raw of events) {
      const e = { ...raw, id: canonicalId(raw) };
      if (applied.some((a) => a.id === e.id) || (await db.events.get(e.id))) continue;
      await applyEvent(view, e, touched);
      applied.push(e);
      ops.push({ type: 'put', sublevel: db.events, key: e.id, value: e as unknown as ChainEventRecord });
    }
    const undo: [string, string | null][] = [];
    for (const k of pending.keys()) undo.push([k, (await db.state.get(k)) ?? null]);
    for (const [k, v] of pending) {
      ops.push(
        v === null
          ? { type: 'del', sublevel: db.state, key: k }
          : { type: 'put', sublevel: db.state, key: k, value: v },
      );
    }
    const existing = await db.blocks.get(blockKey(chainId, block.number));
    const record: ChainBlockRecord = {
      number: block.number,
      hash: block.hash,
      // A replayed block keeps what it already did (and how to undo it) and adds only what is new.
      eventIds: [...(existing?.hash === block.hash ? existing.eventIds : []), ...applied.map((e) => e.id)],
      undo: [...(existing?.hash === block.hash ? existing.undo : []), ...undo],
      processedAt: Date.now(),
    };
    ops.push({ type: 'put', sublevel: db.blocks, key: blockKey(chainId, block.number), value: record });
    ops.push({
      type: 'put',
      sublevel: db.checkpoints,
      key: chainId,
      value: { number: block.number, hash: block.hash, updatedAt: Date.now() },
    });
    for await (const k of db.blocks.keys({
      gte: `${chainId}!`,
      lt: blockKey(chainId, Math.max(0, block.number - keepBlocks)),
      limit: 256,
    })) {
      ops.push({ type: 'del', sublevel: db.blocks, key: k });
    }
    const effect = applied.length && effects ? await effects.prepare(applied) : undefined;
    if (effect) ops.push(...effect.ops);
    await db.level.batch(ops as never);
    return { applied: { events: applied, touched }, committed: effect?.committed };
  }

  /**
   * Undoes every stored block above `ancestor` (all of them when null), newest first: restores the state
   * values from the undo entries, forgets the blocks' events, undoes their effects (in the same batch),
   * and moves the checkpoint back.
   */
  async rollback(chainId: string, ancestor: BlockRef | null): Promise<Applied> {
    const effects = this.effects;
    const write = () => this.writeRollback(chainId, ancestor, effects);
    const { applied, committed } = await (effects ? effects.exclusive(write) : write());
    await committed?.();
    return applied;
  }

  private async writeRollback(
    chainId: string,
    ancestor: BlockRef | null,
    effects: BlockEffects | undefined,
  ): Promise<{ applied: Applied; committed?: () => void | Promise<void> }> {
    const db = this.db;
    const ops: Op[] = [];
    const touched = emptyTouched();
    const undone: ChainEvent[] = [];
    const from = ancestor ? blockKey(chainId, ancestor.number + 1) : `${chainId}!`;
    for await (const [k, b] of db.blocks.iterator({ gte: from, lt: `${chainId}!\xff`, reverse: true })) {
      for (let i = b.undo.length - 1; i >= 0; i--) {
        const [sk, prev] = b.undo[i];
        ops.push(
          prev === null
            ? { type: 'del', sublevel: db.state, key: sk }
            : { type: 'put', sublevel: db.state, key: sk, value: prev },
        );
      }
      for (const id of b.eventIds) {
        const e = (await db.events.get(id)) as unknown as ChainEvent | undefined;
        if (e) {
          undone.push(e);
          // What the event touched needs reconciling now that it is gone.
          await applyEvent({ get: async () => null, set: () => {} }, e, touched);
        }
        ops.push({ type: 'del', sublevel: db.events, key: id });
      }
      ops.push({ type: 'del', sublevel: db.blocks, key: k });
    }
    ops.push(
      ancestor
        ? {
            type: 'put',
            sublevel: db.checkpoints,
            key: chainId,
            value: { number: ancestor.number, hash: ancestor.hash, updatedAt: Date.now() },
          }
        : { type: 'del', sublevel: db.checkpoints, key: chainId },
    );
    const effect = undone.length && effects ? await effects.undo(undone) : undefined;
    if (effect) ops.push(...effect.ops);
    await db.level.batch(ops as never);
    return { applied: { events: undone, touched }, committed: effect?.committed };
  }

  async event(id: string): Promise<ChainEvent | undefined> {
    return (await this.db.events.get(id)) as unknown as ChainEvent | undefined;
  }

  /** The applied events of one transaction on any followed chain (event ids are `chainId:txHash:logIndex`). */
  async eventsOfTransaction(transactionHash: string): Promise<ChainEvent[]> {
    const events: ChainEvent[] = [];
    for await (const chainId of this.db.checkpoints.keys()) {
      const prefix = `${chainId}:${transactionHash}:`;
      for await (const e of this.db.events.values({ gte: prefix, lt: `${prefix}\xff` })) {
        events.push(e as unknown as ChainEvent);
      }
    }
    return events;
  }

  /** Derived-state entries whose key starts with the given parts, as [rest of key parts, value]. */
  async entries(...prefix: string[]): Promise<[string[], string][]> {
    const p = `${stateKey(...prefix)}!`;
    const out: [string[], string][] = [];
    for await (const [k, v] of this.db.state.iterator({ gte: p, lt: `${p}\xff` })) {
      out.push([k.slice(p.length).split('!'), v]);
    }
    return out;
  }

  async value(...parts: string[]): Promise<string | undefined> {
    return this.db.state.get(stateKey(...parts));
  }
}

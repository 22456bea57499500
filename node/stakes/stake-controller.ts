/**
 * Stakes between the client and the chain. A client reports a stake it just sent (REST
 * `POST /users/me/stakes` or PosBus `UserStakedToOdyssey`, both through `report`): it is validated and
 * kept as a pending stake, keyed by transaction hash (reporting it again changes nothing), and the
 * world's users are told with `AddPendingStake`. When the harvester applies the matching on-chain
 * `Stake` event, the pending stake is removed and its comment becomes the stake's and the world's last
 * comment. Every applied Stake/Unstake/Restake also becomes a timeline activity of the world (`stake` /
 * `unstake`), which is announced to the world with `ActivityUpdate`.
 *
 * Those effects of a block are written in the block's own LevelDB batch (this controller is the
 * harvester's BlockEffects): a crash never commits a block without them, or them without the block.
 * Clients are told only once the batch is committed. A reorg that removes a stake event removes its
 * activities in the rollback's batch (`ActivityUpdate` `removed`).
 *
 * A pending stake the chain has not confirmed after `pendingStakeTtlMs` expires: it is deleted, and the
 * world's users are told. A pending stake that leaves (confirmed or expired) is announced to the world as
 * a PosBus `GenericMessage` on topic `pending-stake-removed` (see PendingStakeRemoved): the original has
 * no message for it, and GenericMessage is the one it registers for what it does not model.
 *
 * Matching: a pending stake with the event's transaction hash (and the same wallet and world) first;
 * failing that, the oldest pending stake of the same wallet and world (a client may report a hash the
 * chain never shows, e.g. a replaced transaction). A stake reported after its event was applied is
 * confirmed at once.
 */
import type { Logger } from 'pino';
import { forbidden, invalid, notFound } from '../../common/errors.ts';
import type { ChainEvent } from '../../harvester/adapter.ts';
import type { BatchOp, BlockEffect, BlockEffects } from '../../harvester/block-effects.ts';
import type { Harvester } from '../../harvester/harvester.ts';
import { encode } from '../../protocol/posbus/index.ts';
import type { PendingStakeRecord, StakeCommentRecord } from '../../storage/db/chain-records.ts';
import type { Database } from '../../storage/db/database.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import type { ActivityController } from '../activities/activity-controller.ts';
import type { UserStore } from '../user/user-store.ts';
import type { WorldController } from '../world/world-controller.ts';
import type { WorldStore } from '../world/world-store.ts';

export interface StakeReport {
  transactionId: string;
  odysseyId: string;
  wallet: string;
  amount: string;
  comment: string;
  kind: number;
}

const TX = /^0x[0-9a-f]{64}$/;
const WALLET = /^0x[0-9a-f]{40}$/;
const AMOUNT = /^\d{1,78}$/;
const MAX_UINT256 = (1n << 256n) - 1n;
export const MAX_STAKE_COMMENT = 1000;
const TOKEN_SYMBOLS = ['MOM', 'DAD'];

/** PosBus carries the transaction as a UMID: the first 16 bytes of the hash. */
export const transactionUmid = (txHash: string): string => {
  const h = txHash.slice(2, 34);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

/** Topic of the GenericMessage that tells a world's users a pending stake left its list. */
export const PENDING_STAKE_REMOVED = 'pending-stake-removed';

/** The GenericMessage's data: this object as UTF-8 JSON. */
export interface PendingStakeRemoved {
  transaction_id: string;
  odyssey_id: string;
  wallet: string;
  reason: 'confirmed' | 'expired';
}

export interface StakeControllerComponents {
  db: Database;
  users: UserStore;
  store: WorldStore;
  worlds: WorldController;
  activities: ActivityController;
  harvester: Harvester;
  logger: Logger;
  config: { pendingStakeTtlMs: number };
}

/** The tables of stakes (names are on-disk key prefixes: never rename them). */
export function stakeTables(db: Database) {
  return {
    level: db.level,
    /** Stakes reported by clients, not yet seen on chain: transaction hash → pending stake. */
    pendingStakes: db.sublevel<PendingStakeRecord>('pending-stakes'),
    /** Comments of confirmed stakes: `world!<odysseyId>` and `stake!<wallet>!<odysseyId>` → comment. */
    stakeComments: db.sublevel<StakeCommentRecord>('stake-comments'),
    /** Timeline activities a chain event caused: `<event id>!<n>` → activity id (removed with a reorg). */
    chainActivities: db.sublevel<string>('chain-activities'),
  };
}

export class StakeController implements BlockEffects {
  private readonly db: ReturnType<typeof stakeTables>;
  private readonly users: UserStore;
  private readonly store: WorldStore;
  private readonly worlds: WorldController;
  private readonly activities: ActivityController;
  private readonly harvester: Harvester;
  private readonly log: Logger;
  private readonly ttlMs: number;
  /** Reports, block commits and expiry sweeps run one at a time, so a report never races its own event. */
  private tail: Promise<unknown> = Promise.resolve();
  private sweep: NodeJS.Timeout | undefined;

  constructor(components: StakeControllerComponents) {
    this.db = stakeTables(components.db);
    this.users = components.users;
    this.store = components.store;
    this.worlds = components.worlds;
    this.activities = components.activities;
    this.harvester = components.harvester;
    this.log = components.logger.child({ component: 'stakes' });
    this.ttlMs = components.config.pendingStakeTtlMs;
  }

  start(): void {
    this.harvester.setBlockEffects(this);
    // Checked a few times per TTL, so a stake leaves at most a quarter TTL (or a minute) late.
    const every = Math.max(250, Math.min(60_000, Math.floor(this.ttlMs / 4)));
    this.sweep = setInterval(() => {
      this.expire().catch((err) => this.log.error({ err }, 'pending stake expiry failed'));
    }, every);
    this.sweep.unref();
  }

  stop(): Promise<unknown> {
    clearInterval(this.sweep);
    return this.tail;
  }

  exclusive<T>(commit: () => Promise<T>): Promise<T> {
    return this.serial(commit);
  }

  /** The block's stake effects: confirmed pending stakes, comments, timeline activities. */
  async prepare(events: readonly ChainEvent[]): Promise<BlockEffect> {
    const ops: BatchOp[] = [];
    const announce: (() => void)[] = [];
    const taken = new Set<string>();
    const add = (effect: { ops: BatchOp[]; announce: () => void } | undefined) => {
      if (!effect) return;
      ops.push(...effect.ops);
      announce.push(effect.announce);
    };
    for (const e of events) {
      if (!e.odysseyId) continue;
      if (e.kind === 'stake') {
        const pending = await this.matching(e, taken);
        if (pending) {
          taken.add(pending.transactionId);
          add(this.confirmation(pending, e));
        }
        add(await this.activity(e, 'stake', e.odysseyId));
      } else if (e.kind === 'unstake') {
        add(await this.activity(e, 'unstake', e.odysseyId));
      } else if (e.kind === 'restake' && e.odysseyTo) {
        add(await this.activity(e, 'unstake', e.odysseyId));
        add(await this.activity(e, 'stake', e.odysseyTo, 1));
      }
    }
    return {
      ops,
      committed: () => this.announceAll(announce),
    };
  }

  /**
   * Events a reorg removed: their timeline activities go (in the rollback's batch) and the worlds are
   * told. A pending stake they confirmed stays confirmed: the new branch usually carries the same
   * transaction, and its stake then counts again.
   */
  async undo(events: readonly ChainEvent[]): Promise<BlockEffect> {
    const ops: BatchOp[] = [];
    const announce: (() => void)[] = [];
    for (const e of events) {
      if (e.kind !== 'stake' && e.kind !== 'unstake' && e.kind !== 'restake') continue;
      for await (const [k, activityId] of this.db.chainActivities.iterator({
        gte: `${e.id}!`,
        lt: `${e.id}!\xff`,
      })) {
        ops.push({ type: 'del', sublevel: this.db.chainActivities, key: k });
        const removal = await this.activities.prepareRemoval(activityId);
        if (!removal) continue;
        ops.push(...removal.ops);
        announce.push(removal.announce);
      }
    }
    return { ops, committed: () => this.announceAll(announce) };
  }

  /**
   * Deletes the pending stakes reported `pendingStakeTtlMs` or more before `now` that the chain never
   * confirmed, and tells their worlds. Returns how many expired.
   */
  expire(now = Date.now()): Promise<number> {
    return this.serial(async () => {
      const expired: PendingStakeRecord[] = [];
      for await (const p of this.db.pendingStakes.values()) {
        if (now - p.createdAt >= this.ttlMs) expired.push(p);
      }
      if (!expired.length) return 0;
      await this.db.level.batch(
        expired.map((p) => ({ type: 'del', sublevel: this.db.pendingStakes, key: p.transactionId })) as never,
      );
      for (const p of expired) {
        this.removed(p, 'expired');
        this.log.info({ tx: p.transactionId, worldId: p.odysseyId }, 'pending stake expired unconfirmed');
      }
      return expired.length;
    });
  }

  /** When a pending stake expires unless the chain confirms it first. */
  expiresAt(p: PendingStakeRecord): number {
    return p.createdAt + this.ttlMs;
  }

  /** A world's pending stakes, oldest first. */
  async pendingOf(odysseyId: string): Promise<PendingStakeRecord[]> {
    const out: PendingStakeRecord[] = [];
    for await (const p of this.db.pendingStakes.values()) if (p.odysseyId === odysseyId) out.push(p);
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * A stake the user says they sent. Refused (DomainError) unless well-formed, from one of the user's
   * own wallets, into an existing world. `created` is false when the transaction was already reported
   * (or already confirmed on chain).
   */
  async report(user: UserRecord, input: StakeReport): Promise<{ created: boolean }> {
    const r = this.validate(input);
    // The session's copy of the user may predate a wallet attached since: read it again.
    const current = (await this.users.get(user.id)) ?? user;
    if (!(current.wallets ?? []).includes(r.wallet))
      throw forbidden('wallet_not_yours', 'the wallet is not one of your wallets');
    if (!this.store.get(r.odysseyId)) throw notFound('world_not_found', `no world ${r.odysseyId}`);
    return this.serial(async () => {
      if (await this.db.pendingStakes.get(r.transactionId)) return { created: false };
      const pending: PendingStakeRecord = { ...r, userId: user.id, createdAt: Date.now() };
      const seen = await this.appliedStake(pending);
      if (seen) {
        const { ops, announce } = this.confirmation(pending, seen);
        await this.db.level.batch(ops as never);
        announce();
        return { created: false };
      }
      await this.db.pendingStakes.put(r.transactionId, pending);
      // The original defines AddPendingStake but never sends it; sending it to the users of the staked
      // world (so their UI can show the stake before the chain confirms it) is this node's choice.
      this.worlds.broadcastToWorld(
        r.odysseyId,
        encode({
          type: 'AddPendingStake',
          transactionId: transactionUmid(r.transactionId),
          odysseyId: r.odysseyId,
          wallet: r.wallet,
          amount: BigInt(r.amount),
          comment: r.comment,
          kind: r.kind,
        }),
      );
      this.log.info({ tx: r.transactionId, worldId: r.odysseyId, userId: user.id }, 'pending stake');
      return { created: true };
    });
  }

  async pending(transactionId: string): Promise<PendingStakeRecord | undefined> {
    return this.db.pendingStakes.get(transactionId.toLowerCase());
  }

  /** Comment of the last confirmed stake into the world; null when none had one. */
  async lastComment(odysseyId: string): Promise<string | null> {
    return (await this.db.stakeComments.get(`world!${odysseyId}`))?.comment ?? null;
  }

  /** Comment of the last confirmed stake of a wallet into a world; '' when none. */
  async commentOf(wallet: string, odysseyId: string): Promise<string> {
    return (await this.db.stakeComments.get(`stake!${wallet}!${odysseyId}`))?.comment ?? '';
  }

  private validate(input: StakeReport): StakeReport {
    // Everything is checked before use: the original crashed on hashes or wallets under 2 characters.
    const transactionId = `${input.transactionId ?? ''}`.toLowerCase();
    const wallet = `${input.wallet ?? ''}`.toLowerCase();
    const amount = `${input.amount ?? ''}`;
    const comment = `${input.comment ?? ''}`;
    if (!TX.test(transactionId))
      throw invalid('invalid_transaction', 'transaction_id must be a transaction hash (0x + 64 hex)');
    if (!WALLET.test(wallet)) throw invalid('invalid_wallet', 'wallet must be 0x + 40 hex digits');
    if (!AMOUNT.test(amount) || BigInt(amount) === 0n || BigInt(amount) > MAX_UINT256)
      throw invalid('invalid_amount', 'amount must be a positive decimal integer (uint256)');
    if (!Number.isInteger(input.kind) || input.kind < 0 || input.kind > 255)
      throw invalid('invalid_kind', 'kind must be a token index (0 MOM, 1 DAD)');
    if (comment.length > MAX_STAKE_COMMENT)
      throw invalid('invalid_comment', `comment over ${MAX_STAKE_COMMENT} characters`);
    return { transactionId, odysseyId: input.odysseyId, wallet, amount, comment, kind: input.kind };
  }

  /** An applied Stake event of this transaction, wallet and world, on any followed chain. */
  private async appliedStake(p: PendingStakeRecord): Promise<ChainEvent | undefined> {
    return this.harvester.queries.stakeEvent(p.transactionId, p.wallet, p.odysseyId);
  }

  private async matching(e: ChainEvent, taken: ReadonlySet<string>): Promise<PendingStakeRecord | undefined> {
    const same = (p: PendingStakeRecord | undefined) =>
      p?.wallet === e.from && p.odysseyId === e.odysseyId && !taken.has(p.transactionId);
    const byHash = await this.db.pendingStakes.get(e.txHash.toLowerCase());
    if (same(byHash)) return byHash;
    let oldest: PendingStakeRecord | undefined;
    for await (const p of this.db.pendingStakes.values()) {
      if (same(p) && (!oldest || p.createdAt < oldest.createdAt)) oldest = p;
    }
    return oldest;
  }

  /** The pending stake is on chain: it goes, and its comment becomes the last one. */
  private confirmation(p: PendingStakeRecord, e: ChainEvent): { ops: BatchOp[]; announce: () => void } {
    const ops: BatchOp[] = [{ type: 'del', sublevel: this.db.pendingStakes, key: p.transactionId }];
    if (p.comment) {
      const value = { comment: p.comment, wallet: p.wallet, transactionId: e.txHash, at: Date.now() };
      ops.push({ type: 'put', sublevel: this.db.stakeComments, key: `world!${p.odysseyId}`, value });
      ops.push({
        type: 'put',
        sublevel: this.db.stakeComments,
        key: `stake!${p.wallet}!${p.odysseyId}`,
        value,
      });
    }
    const announce = () => {
      this.removed(p, 'confirmed');
      this.log.info({ tx: e.txHash, worldId: p.odysseyId }, 'pending stake confirmed on chain');
    };
    return { ops, announce };
  }

  /** Tells the world's users that a pending stake left its list. */
  private removed(p: PendingStakeRecord, reason: PendingStakeRemoved['reason']): void {
    const body: PendingStakeRemoved = {
      transaction_id: p.transactionId,
      odyssey_id: p.odysseyId,
      wallet: p.wallet,
      reason,
    };
    this.worlds.broadcastToWorld(
      p.odysseyId,
      encode({
        type: 'GenericMessage',
        topic: PENDING_STAKE_REMOVED,
        data: new TextEncoder().encode(JSON.stringify(body)),
      }),
    );
  }

  /** A `stake`/`unstake` activity on the world's timeline, by the staking wallet's user. */
  private async activity(
    e: ChainEvent,
    type: 'stake' | 'unstake',
    worldId: string,
    nth = 0,
  ): Promise<{ ops: BatchOp[]; announce: () => void } | undefined> {
    if (!this.store.get(worldId)) return undefined;
    // Like a minter, a staker becomes a user on first sight of the wallet. That write precedes the block's
    // batch; it is idempotent, so a crash before the batch leaves only a user the retry finds again.
    const user = (await this.users.byWallet(e.from)) ?? (await this.users.walletUser(e.from)).user;
    const prepared = this.activities.prepareRecord(user.id, worldId, type, {
      tokenSymbol: TOKEN_SYMBOLS[e.token ?? 0] ?? null,
      tokenAmount: e.amount ?? '0',
      bcTxHash: e.txHash,
      bcLogIndex: `${e.logIndex}`,
    });
    if (!prepared) return undefined;
    // Which event caused it, so that a reorg removing the event removes the activity too.
    const index: BatchOp = {
      type: 'put',
      sublevel: this.db.chainActivities,
      key: `${e.id}!${nth}`,
      value: prepared.record.activityId,
    };
    return { ops: [...prepared.ops, index], announce: prepared.announce };
  }

  /** The effects are on disk by now: telling clients is best effort and never fails the block. */
  private announceAll(announce: (() => void)[]): void {
    try {
      for (const a of announce) a();
    } catch (err) {
      this.log.error({ err }, 'stake effects not announced');
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => {});
    return run;
  }
}

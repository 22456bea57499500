/**
 * Upload quotas: how many bytes may be stored on a user's behalf. Guests get `guestUploadQuotaMb`
 * (0 = no uploads at all), signed-in users `userUploadQuotaMb`, node admins no limit.
 *
 * What counts: the size of every asset recorded with the user as its uploader, i.e. bytes that were
 * stored because of their upload (the store keeps that sum per user, written in the same LevelDB batch as
 * the record, so it survives restarts and crashes). An upload whose bytes were already stored — same CID,
 * by anyone, the user included — stores nothing and costs nothing; an asset garbage collection removes
 * stops counting. Counting is per asset, not per block: two different files sharing some blocks both
 * count in full.
 *
 * Enforcement must come before bytes are stored, when nobody can know yet whether the file is a
 * duplicate: while it streams, an upload reserves every byte that passes, and the user's stored bytes
 * plus every reservation of theirs may never exceed the quota (a chunk that would is refused, and the
 * import aborts). The check and the reservation are one synchronous step, so concurrent uploads of one
 * user cannot overspend at all: together they get at most the room left. When an upload ends its
 * reservation is dropped and, if it created an asset, the stored bytes grow by its size in the same step.
 * So a duplicate needs room while it streams, though it costs nothing once stored.
 */
import { DomainError } from '../../common/errors.ts';
import type { AssetStore } from '../../storage/assets/asset-store.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import type { NodeConfig } from '../config.ts';

export interface UploadUsage {
  usedBytes: number;
  /** Null for no limit (node admins). */
  quotaBytes: number | null;
}

/** A user's stored bytes and in-flight reservations, kept while they have an upload going. */
interface Account {
  userId: string;
  /** Bytes stored on their behalf, as the store has it (loaded once `ready` settles). */
  stored: number;
  loaded: boolean;
  ready: Promise<void>;
  /** Bytes reserved by their uploads in flight. */
  reserved: number;
  uploads: number;
}

const MIB = 1024 * 1024;

export class UploadQuotas {
  private readonly store: AssetStore;
  private readonly isAdmin: (user: UserRecord) => boolean;
  private readonly guestBytes: number;
  private readonly userBytes: number;
  private readonly accounts = new Map<string, Account>();

  constructor(c: {
    store: AssetStore;
    isAdmin: (user: UserRecord) => boolean;
    config: Pick<NodeConfig, 'guestUploadQuotaMb' | 'userUploadQuotaMb'>;
  }) {
    this.store = c.store;
    this.isAdmin = c.isAdmin;
    this.guestBytes = Math.floor(c.config.guestUploadQuotaMb * MIB);
    this.userBytes = Math.floor(c.config.userUploadQuotaMb * MIB);
    // A collected asset frees its uploader's room at once for uploads already in flight.
    this.store.on('removed', (record) => {
      const account = this.accounts.get(record.uploader);
      if (account?.loaded) account.stored = Math.max(0, account.stored - record.size);
    });
  }

  /** The user's quota in bytes; undefined = no limit. */
  quotaOf(user: UserRecord): number | undefined {
    if (this.isAdmin(user)) return undefined;
    return user.isGuest ? this.guestBytes : this.userBytes;
  }

  async usage(user: UserRecord): Promise<UploadUsage> {
    return { usedBytes: await this.store.usedBytes(user.id), quotaBytes: this.quotaOf(user) ?? null };
  }

  /**
   * Starts an upload of `user`: refused at once when they may not upload or when `announcedBytes` (the
   * least the body can hold, from Content-Length) is over the room they have left. Call `end` on the
   * result whatever happens.
   */
  async begin(user: UserRecord, announcedBytes = 0): Promise<UploadAllowance> {
    const quota = this.quotaOf(user);
    if (quota === 0) {
      const message = user.isGuest
        ? 'guests cannot upload on this node; sign in with a wallet'
        : 'uploads are closed on this node';
      throw new DomainError('forbidden', 'upload_not_permitted', message, { userId: user.id, quotaBytes: 0 });
    }
    const account = this.open(user.id);
    const allowance = new UploadAllowance(account, quota, () => this.close(account));
    try {
      await account.ready;
      allowance.check(announcedBytes);
    } catch (e) {
      allowance.end();
      throw e;
    }
    return allowance;
  }

  /** The account of a user, counting one more upload; made (and its stored bytes read) on first use. */
  private open(userId: string): Account {
    let account = this.accounts.get(userId);
    if (!account) {
      const fresh: Account = {
        userId,
        stored: 0,
        loaded: false,
        ready: Promise.resolve(),
        reserved: 0,
        uploads: 0,
      };
      fresh.ready = this.store.usedBytes(userId).then((stored) => {
        fresh.stored = stored;
        fresh.loaded = true;
      });
      account = fresh;
      this.accounts.set(userId, account);
    }
    // Counted before any await: the account cannot be dropped while a caller is still waiting on it.
    account.uploads++;
    return account;
  }

  private close(account: Account): void {
    if (--account.uploads === 0 && this.accounts.get(account.userId) === account) {
      // Nothing in flight: the store's figure is the truth again, read afresh next time.
      this.accounts.delete(account.userId);
    }
  }
}

/** One upload's share of its user's quota: meters the bytes, then commits or releases them. */
export class UploadAllowance {
  private readonly account: Account;
  private readonly quota: number | undefined;
  private readonly onEnd: () => void;
  private reserved = 0;
  private ended = false;

  constructor(account: Account, quota: number | undefined, onEnd: () => void) {
    this.account = account;
    this.quota = quota;
    this.onEnd = onEnd;
  }

  /** Throws when `more` bytes on top of what is stored and reserved would be over the quota. */
  check(more: number): void {
    if (this.quota === undefined) return;
    const { stored, reserved } = this.account;
    if (stored + reserved + more <= this.quota) return;
    // A 413 like a file over the size limit: this upload does not fit in the room the user has left.
    throw new DomainError(
      'too_large',
      'upload_quota_exceeded',
      `upload quota exceeded: ${stored} of ${this.quota} bytes stored, ${reserved} in uploads under way; this upload needs at least ${more} more`,
      { userId: this.account.userId, quotaBytes: this.quota },
    );
  }

  /** The upload's bytes, each chunk reserved before it goes on; throws (aborting the import) past the quota. */
  async *meter(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      if (this.ended) throw new Error('upload allowance used after its end');
      this.check(chunk.length);
      this.reserved += chunk.length;
      this.account.reserved += chunk.length;
      yield chunk;
    }
  }

  /**
   * Ends the upload: its reservation is dropped and `storedBytes` (the size of the asset it created; 0
   * for a duplicate or a failure) added to the user's stored bytes, in one step. Idempotent.
   */
  end(storedBytes = 0): void {
    if (this.ended) return;
    this.ended = true;
    this.account.reserved -= this.reserved;
    this.account.stored += storedBytes;
    this.reserved = 0;
    this.onEnd();
  }
}

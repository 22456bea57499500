/**
 * Mirroring: this node starts holding a world another node has (an admin, a teleport, `--mirrors`,
 * `--replicate all`) and pulls it from a trusted, connected holder. A mirror is incomplete until its first
 * pull completes (incomplete-mirrors.ts): a pull cut midway leaves part of the world stored, which is then
 * withheld (federation.ts: announcements, teleports, the world syncs it answers) and pulled again until a
 * pull completes, from any holder and by any path: a mirror, the first announcement of a holder, the
 * periodic sync, an ignored op.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from 'pino';
import { MAX_ANNOUNCED_WORLDS } from '../../protocol/gossip/index.ts';
import type { Database } from '../../storage/db/database.ts';
import type { WorldStore } from '../world/world-store.ts';
import { Cooldown } from './cooldown.ts';
import type { NodeDirectory } from './directory.ts';
import { IncompleteMirrors } from './incomplete-mirrors.ts';
import type { SyncResult, WorldSync } from './world-sync.ts';

/** Least time between two background attempts to mirror a world that could not be fetched. */
export const MIRROR_RETRY_MS = 30_000;

export interface MirrorComponents {
  sync: WorldSync;
  store: WorldStore;
  db: Database;
  directory: NodeDirectory;
  logger: Logger;
  /** True for a trusted peer connected now: the only ones pulled from. */
  usable(peer: string): boolean;
  /** Follows the world's ops and people (from before its first pull: nothing made meanwhile is missed). */
  hold(worldId: string): void;
  /** Stops following a world that could not be fetched. */
  release(worldId: string): void;
  /** Announces this node's worlds now. */
  announce(): void;
}

export class Mirrors {
  private readonly c: MirrorComponents;
  private readonly log: Logger;
  private readonly incomplete: IncompleteMirrors;
  private readonly attempts = new Map<string, Promise<boolean>>();
  /** worldId → pulls of it running (a mirror's own, and syncs): a mirror that got nothing waits for them. */
  private readonly pulling = new Map<string, number>();
  /** Worlds whose background mirror failed lately: not tried again before MIRROR_RETRY_MS. */
  private readonly failed = new Cooldown(MIRROR_RETRY_MS, MAX_ANNOUNCED_WORLDS);
  private stopped = false;

  constructor(components: MirrorComponents) {
    this.c = components;
    this.log = components.logger;
    this.incomplete = new IncompleteMirrors({ db: components.db });
  }

  async start(): Promise<void> {
    await this.incomplete.load();
    for (const worldId of this.incomplete.ids()) {
      // Held since the store loaded its part (when it did): the first announcement of a holder, the
      // periodic sync and mirror retries pull it again, and it is withheld until one completes.
      this.log.warn({ worldId }, 'mirror left incomplete by the last run; pulled again from its holders');
    }
  }

  /** Waits for the attempts running; none starts after. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.attempts.values());
  }

  /** True while only part of the world is here: a mirror whose first full pull has not completed. */
  isIncomplete(worldId: string): boolean {
    return this.incomplete.has(worldId);
  }

  /**
   * Starts holding a world another node has: subscribes, then pulls it from a trusted peer that holds it.
   * True when the world is here, whole, afterwards (a mirror whose pulls were all cut is not). Concurrent
   * calls for one world share one attempt.
   */
  mirror(worldId: string): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.c.store.get(worldId) && !this.incomplete.has(worldId)) {
      this.c.hold(worldId);
      return Promise.resolve(true);
    }
    let attempt = this.attempts.get(worldId);
    if (!attempt) {
      attempt = this.fetch(worldId).finally(() => this.attempts.delete(worldId));
      this.attempts.set(worldId, attempt);
    }
    return attempt;
  }

  /** A mirror nobody waits for (a holder announced the world): at most one every MIRROR_RETRY_MS once failed. */
  inBackground(worldId: string): void {
    // A world removed here stays removed: a peer still announcing it does not bring it back.
    if (this.stopped || this.c.store.peek(worldId)?.objects.get(worldId)?.removed) return;
    // Announcements come every few seconds, each naming up to MAX_ANNOUNCED_WORLDS worlds: a world that
    // could not be fetched is not asked for again on every one of them.
    if (!this.failed.ready(worldId)) return;
    this.mirror(worldId)
      .then((ok) => {
        // Only a fetch that asked someone: with no connected trusted holder yet, nothing was spent.
        if (!ok && this.c.directory.holders(worldId).some((p) => this.c.usable(p))) this.failed.mark(worldId);
      })
      .catch((error: unknown) => {
        this.failed.mark(worldId);
        this.log.warn({ worldId, err: error }, 'mirror failed');
      });
  }

  /**
   * One pull of `worldId` from `peer`, for a mirror or a sync: the result when it completed. The first
   * that completes makes an incomplete mirror whole (every object the holder has that differed here came),
   * which is then announced. A failure is logged, with how it leaves the world.
   */
  async pull(peer: string, worldId: string): Promise<SyncResult | undefined> {
    this.pulling.set(worldId, (this.pulling.get(worldId) ?? 0) + 1);
    try {
      const result = await this.c.sync.pull(peerIdFromString(peer), worldId);
      if (this.incomplete.has(worldId) && this.c.store.get(worldId)) {
        await this.incomplete.clear(worldId);
        this.log.info({ worldId, peer, objects: result.objects }, 'mirror complete');
        this.c.announce();
      }
      return result;
    } catch (error) {
      this.log.warn(
        { worldId, peer, incomplete: this.incomplete.has(worldId), err: error },
        'world pull from peer failed',
      );
      return undefined;
    } finally {
      const left = (this.pulling.get(worldId) ?? 1) - 1;
      if (left > 0) this.pulling.set(worldId, left);
      else this.pulling.delete(worldId);
    }
  }

  private async fetch(worldId: string): Promise<boolean> {
    const holders = this.c.directory.holders(worldId).filter((p) => this.c.usable(p));
    if (!holders.length) return false;
    // Marked before the first object arrives: the store alone would take what a cut pull leaves for the
    // world, now and after a restart. (A world removed here is not mirrored anew, only compared.)
    const marked = !this.c.store.peek(worldId)?.objects.get(worldId)?.removed;
    if (marked) await this.incomplete.mark(worldId);
    this.c.hold(worldId);
    for (const peer of holders) {
      const result = await this.pull(peer, worldId);
      // Whole, by this pull or by another one of it that completed meanwhile (a sync after an ignored op).
      if (this.c.store.get(worldId) && !this.incomplete.has(worldId)) {
        this.log.info({ worldId, peer, objects: result?.objects }, 'world mirrored');
        // A marked mirror was announced as its pull completed.
        if (!marked) this.c.announce();
        return true;
      }
    }
    if (!this.c.store.peek(worldId) && !this.pulling.has(worldId)) {
      // Nothing of it arrived, and no other pull of it runs (its first window would be written at once, as
      // a part): no part to withhold, and no mirror to resume after a restart.
      await this.incomplete.clear(worldId);
      this.c.release(worldId);
    }
    return false;
  }
}

/**
 * Matches teleport answers to requests. The server answers every TeleportRequest with exactly one
 * SetWorld (carrying the world id) or one Signal{9} (carrying nothing), in request order (SPEC §6.2), so
 * a Signal{9} belongs to the oldest unanswered request. An odyssey-node that refuses a teleport for pacing
 * says so in a notice right before its Signal{9} (TELEPORT_PACING_NOTICE). Requests the caller gave up on (timeout, abort)
 * stay queued until answered, or a late answer would be pinned on the next request.
 */
import type { SetWorld, Umid } from '../posbus/index.ts';
import { AbortedError, PosbusTimeoutError, TeleportPacedError, WorldNotFoundError } from './errors.ts';

interface Entry {
  target: Umid;
  /** Set once the caller's promise is settled (or for requests nobody awaits). */
  done: boolean;
  resolve(world: SetWorld): void;
  reject(error: Error): void;
}

export interface TeleportWaitOptions {
  /** Default: the client's teleportTimeoutMs. Infinity waits forever. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const noop = (): void => {};

export class TeleportQueue {
  #entries: Entry[] = [];

  /** A request whose answer someone awaits. */
  wait(target: Umid, timeoutMs: number, signal?: AbortSignal): Promise<SetWorld> {
    return new Promise<SetWorld>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => finish(new AbortedError('teleport aborted'));
      const finish = (error: Error | undefined, world?: SetWorld): void => {
        if (entry.done) return;
        entry.done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(world as SetWorld);
      };
      const entry: Entry = {
        target: target.toLowerCase(),
        done: false,
        resolve: (world) => finish(undefined, world),
        reject: (error) => finish(error),
      };
      this.#entries.push(entry);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () => finish(new PosbusTimeoutError(`teleport to ${target}`, timeoutMs)),
          timeoutMs,
        );
      }
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A request nobody awaits (re-teleport after reconnect, a TeleportRequest passed to send()). */
  track(target: Umid): void {
    this.#entries.push({ target: target.toLowerCase(), done: true, resolve: noop, reject: noop });
  }

  onSetWorld(world: SetWorld): void {
    // Decoded UMIDs are lowercase; targets were lowercased on entry.
    const i = this.#entries.findIndex((e) => e.target === world.id);
    if (i < 0) return;
    const [entry] = this.#entries.splice(i, 1);
    entry.resolve(world);
  }

  /**
   * Signal{9}: settles the oldest request with WorldNotFoundError, or TeleportPacedError when the node said
   * it refused for pacing; returns its target.
   */
  onRefused(paced: boolean): Umid | undefined {
    const entry = this.#entries.shift();
    if (!entry) return undefined;
    entry.reject(paced ? new TeleportPacedError(entry.target) : new WorldNotFoundError(entry.target));
    return entry.target;
  }

  /** The connection is gone, and with it the server's memory of these requests. */
  failAll(error: Error): void {
    const entries = this.#entries;
    this.#entries = [];
    for (const e of entries) e.reject(error);
  }

  get size(): number {
    return this.#entries.length;
  }
}

/**
 * The follow loop every chain adapter shares: read a step of confirmed blocks, hand each item out only
 * after the consumer committed the previous one, back off on failures, and idle when caught up. The
 * adapters differ only in how they read a step.
 */
import type { Logger } from 'pino';
import { type AdapterHealth, type BlockRef, type FollowItem, sleep } from './adapter.ts';

/** Thrown by a step when the chain changed under its reads: read again (after a breath), not a failure. */
export class ChainMoved extends Error {}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 30_000;
/** Between re-reads of a chain that moved: never a tight loop against the RPC. */
const MOVED_PAUSE_MS = 20;

export interface FollowState {
  health: AdapterHealth;
  processed: number | null;
  reorgs: number;
}

export interface FollowLoop {
  from: BlockRef | undefined;
  signal: AbortSignal;
  /** The adapter's status fields the loop keeps up to date. */
  state: FollowState;
  step(cursor: BlockRef | undefined): Promise<{ items: FollowItem[]; caughtUp: boolean }>;
  /** Records a failed step (status, log, error event). */
  fail(error: unknown): void;
  /** Waits until it is worth reading again. */
  idle(signal: AbortSignal): Promise<void>;
}

export async function* followLoop(loop: FollowLoop): AsyncGenerator<FollowItem> {
  const { signal, state } = loop;
  let cursor = loop.from;
  state.processed = cursor?.number ?? null;
  let backoff = BACKOFF_MIN_MS;
  while (!signal.aborted) {
    let items: FollowItem[];
    let caughtUp: boolean;
    try {
      ({ items, caughtUp } = await loop.step(cursor));
      state.health = 'ok';
      backoff = BACKOFF_MIN_MS;
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ChainMoved) {
        await sleep(MOVED_PAUSE_MS, signal);
        continue;
      }
      loop.fail(e);
      await sleep(backoff, signal);
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      continue;
    }
    for (const item of items) {
      if (signal.aborted) return;
      yield item;
      // Only now, after the consumer committed it, is the item processed.
      if (item.type === 'block') {
        cursor = item.block;
      } else {
        cursor = item.ancestor ?? undefined;
        state.reorgs++;
      }
      state.processed = cursor?.number ?? null;
    }
    if (caughtUp) await loop.idle(signal);
  }
}

/** An adapter's status fields: what the follow loop keeps up to date plus the chain head and last error. */
export interface AdapterState extends FollowState {
  head: number | null;
  confirmed: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

export const newAdapterState = (): AdapterState => ({
  health: 'stopped',
  head: null,
  confirmed: null,
  processed: null,
  reorgs: 0,
  lastError: null,
  lastErrorAt: null,
});

/** Marks a failed step in the status and logs it; the RPC URL is reduced to its origin (it often carries a key). */
export function recordFailure(state: AdapterState, log: Logger, rpcUrl: string, text: string): void {
  state.health = 'degraded';
  state.lastError = text;
  state.lastErrorAt = Date.now();
  log.warn({ err: text, rpc: originOf(rpcUrl) }, 'chain RPC failed; retrying with backoff');
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

/** A poll-interval wait that news of a new head cuts short. */
export class PollTimer {
  private wake: (() => void) | undefined;

  wakeUp(): void {
    this.wake?.();
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    const woken = new AbortController();
    this.wake = () => woken.abort();
    await sleep(ms, AbortSignal.any([signal, woken.signal]));
    this.wake = undefined;
  }
}

/**
 * The follow loop every chain adapter shares: read a step of confirmed blocks, hand each item out only
 * after the consumer committed the previous one, back off on failures, and idle when caught up.
 * `FollowingAdapter` wraps it with everything else adapters have in common (status, failures, polling,
 * the search for a common ancestor), so an adapter implements only what differs: how to read a step and
 * how to ask the chain for the hash at a height.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  type AdapterEvents,
  type AdapterHealth,
  type AdapterStatus,
  type BlockRef,
  type ChainAdapter,
  type ChainFamily,
  type FollowItem,
  type ProcessedBlocks,
  sleep,
} from './adapter.ts';
import { errorText } from './error-text.ts';

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

/** Exponential backoff between retries of a failing read or write: 100 ms doubling up to 30 s. */
export class Backoff {
  private ms = BACKOFF_MIN_MS;

  reset(): void {
    this.ms = BACKOFF_MIN_MS;
  }

  /** Waits the current delay (or less, when `signal` aborts) and doubles the next one. */
  async wait(signal: AbortSignal): Promise<void> {
    await sleep(this.ms, signal);
    this.ms = Math.min(BACKOFF_MAX_MS, this.ms * 2);
  }
}

export async function* followLoop(loop: FollowLoop): AsyncGenerator<FollowItem> {
  const { signal, state } = loop;
  let cursor = loop.from;
  state.processed = cursor?.number ?? null;
  const backoff = new Backoff();
  while (!signal.aborted) {
    let items: FollowItem[];
    let caughtUp: boolean;
    try {
      ({ items, caughtUp } = await loop.step(cursor));
      state.health = 'ok';
      backoff.reset();
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ChainMoved) {
        await sleep(MOVED_PAUSE_MS, signal);
        continue;
      }
      loop.fail(e);
      await backoff.wait(signal);
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

/** What every adapter's configuration has. */
export interface FollowedChainConfig {
  name: string;
  rpcUrl: string;
  pollIntervalMs: number;
}

/**
 * A chain adapter around the follow loop. A subclass reads steps (`step`), answers the hash at a height
 * (`hashAt`, for the ancestor search), and opens and closes its connections (`open`, `close`).
 */
export abstract class FollowingAdapter<C extends FollowedChainConfig>
  extends EventEmitter<AdapterEvents>
  implements ChainAdapter
{
  abstract readonly family: ChainFamily;
  readonly name: string;
  readonly chainId: string;
  protected readonly config: C;
  protected readonly log: Logger;
  protected readonly state = newAdapterState();
  /** Woken by news of a new head (a subscription), so that idling is cut short. */
  protected readonly poll = new PollTimer();
  protected stopping = new AbortController();

  constructor(config: C, chainId: string, logger: Logger) {
    super();
    this.config = config;
    this.name = config.name;
    this.chainId = chainId;
    this.log = logger.child({ component: 'harvester', chain: config.name });
  }

  /** Reads the next confirmed blocks after `cursor`; throws `ChainMoved` to be asked again. */
  protected abstract step(
    cursor: BlockRef | undefined,
    processed: ProcessedBlocks,
  ): Promise<{ items: FollowItem[]; caughtUp: boolean }>;

  /** The hash of the chain's block at height `n` (null or undefined when it has none). */
  protected abstract hashAt(n: number): Promise<string | null | undefined>;

  /** The current read range, for the status. */
  protected abstract rangeSize(): number;

  /** Opens connections; never throws on an unreachable RPC (that shows as health and lastError). */
  protected async open(): Promise<void> {}

  protected async close(): Promise<void> {}

  /** Forgets what was derived from blocks that a reorg took away. */
  protected forgetAfterReorg(): void {}

  async start(): Promise<void> {
    this.stopping = new AbortController();
    this.state.health = 'starting';
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.close();
    this.state.health = 'stopped';
  }

  status(): AdapterStatus {
    const s = this.state;
    return {
      name: this.name,
      family: this.family,
      chainId: this.chainId,
      ...s,
      lag: s.head !== null && s.processed !== null ? Math.max(0, s.head - s.processed) : null,
      rangeSize: this.rangeSize(),
    };
  }

  follow(
    from: BlockRef | undefined,
    processed: ProcessedBlocks,
    outer: AbortSignal,
  ): AsyncGenerator<FollowItem> {
    return followLoop({
      from,
      signal: AbortSignal.any([outer, this.stopping.signal]),
      state: this.state,
      step: (cursor) => this.step(cursor, processed),
      fail: (e) => this.fail(e),
      idle: (signal) => this.poll.wait(this.config.pollIntervalMs, signal),
    });
  }

  /** Records a failure in the status and the log, and emits it to whoever listens. */
  protected fail(e: unknown): void {
    const text = errorText(e);
    recordFailure(this.state, this.log, this.config.rpcUrl, text);
    if (this.listenerCount('error')) this.emit('error', e instanceof Error ? e : new Error(text));
  }

  /**
   * The block handed out last is gone: walk the stored hashes back to the highest one the chain still
   * has. Nothing stored matches (a reorg deeper than the reorg window): start over from the start block.
   */
  protected async reorg(cursor: BlockRef, processed: ProcessedBlocks): Promise<FollowItem> {
    let below = cursor.number;
    let ancestor: BlockRef | null = null;
    search: while (below > 0) {
      const refs = await processed.below(below, 64);
      if (!refs.length) break;
      for (const ref of refs) {
        if ((await this.hashAt(ref.number)) === ref.hash) {
          ancestor = ref;
          break search;
        }
      }
      below = refs[refs.length - 1].number;
    }
    this.forgetAfterReorg();
    this.log.warn({ from: cursor, ancestor }, 'reorg: rolling back to the common ancestor');
    this.emit('reorg', { ancestor, from: cursor });
    return { type: 'reorg', ancestor, from: cursor };
  }
}

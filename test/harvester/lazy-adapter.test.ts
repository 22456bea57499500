/**
 * The lazy wrapper around a chain adapter: the adapter's failures stay in its status unless someone
 * listens for 'error' on the wrapper (an unheard 'error' event would throw and end the follow loop).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { AdapterEvents, ChainAdapter } from '../../harvester/adapter.ts';
import { LazyAdapter } from '../../harvester/lazy-adapter.ts';

/** Stands in for a loaded adapter: only its events matter here, nothing is followed. */
class FailingAdapter extends EventEmitter<AdapterEvents> {
  readonly name = 'nova';
  readonly family = 'evm' as const;
  readonly chainId = '31337';
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  fail(): boolean {
    // As FollowingAdapter.fail does: emit only to a listener.
    return this.listenerCount('error') > 0 && this.emit('error', new Error('rpc down'));
  }
}

describe('LazyAdapter', () => {
  it('does not turn an inner error into an unhandled one when nobody listens on the wrapper', async () => {
    const inner = new FailingAdapter();
    const lazy = new LazyAdapter('nova', 'evm', async () => inner as unknown as ChainAdapter);
    await lazy.start();
    expect(() => inner.fail()).not.toThrow();
  });

  it('hands the inner error to a listener on the wrapper', async () => {
    const inner = new FailingAdapter();
    const lazy = new LazyAdapter('nova', 'evm', async () => inner as unknown as ChainAdapter);
    const seen: string[] = [];
    lazy.on('error', (e) => seen.push(e.message));
    await lazy.start();
    inner.fail();
    expect(seen).toEqual(['rpc down']);
  });
});

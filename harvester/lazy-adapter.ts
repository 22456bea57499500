/**
 * A chain adapter whose module is imported when it starts: the EVM adapter pulls in viem and the
 * Substrate adapter @polkadot/api (together well over 100 MiB of RSS), which a node with no chain of
 * that family never needs. Until it starts it reports itself stopped.
 */
import { EventEmitter } from 'node:events';
import type {
  AdapterEvents,
  AdapterStatus,
  BlockRef,
  ChainAdapter,
  ChainFamily,
  FollowItem,
  ProcessedBlocks,
} from './adapter.ts';
import { newAdapterState } from './follow-loop.ts';

const EVENTS: (keyof AdapterEvents)[] = ['head', 'reorg', 'error', 'range'];

export class LazyAdapter extends EventEmitter<AdapterEvents> implements ChainAdapter {
  readonly name: string;
  readonly family: ChainFamily;
  private readonly load: () => Promise<ChainAdapter>;
  private inner: ChainAdapter | undefined;

  constructor(name: string, family: ChainFamily, load: () => Promise<ChainAdapter>) {
    super();
    this.name = name;
    this.family = family;
    this.load = load;
  }

  /** The loaded adapter's chain id ('' before it started: the harvester asks only after start). */
  get chainId(): string {
    return this.inner?.chainId ?? '';
  }

  async start(): Promise<void> {
    if (!this.inner) {
      const inner = await this.load();
      for (const event of EVENTS)
        inner.on(event, (...args: unknown[]) => {
          // An adapter emits 'error' only to a listener (its failures are in its status): an error no one
          // listens to here must not become an unhandled 'error' event that ends the follow loop.
          if (event === 'error' && this.listenerCount('error') === 0) return;
          (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
        });
      this.inner = inner;
    }
    await this.inner.start();
  }

  async stop(): Promise<void> {
    await this.inner?.stop();
  }

  follow(
    from: BlockRef | undefined,
    processed: ProcessedBlocks,
    signal: AbortSignal,
  ): AsyncIterable<FollowItem> {
    if (!this.inner) throw new Error(`chain adapter ${this.name} followed before it started`);
    return this.inner.follow(from, processed, signal);
  }

  status(): AdapterStatus {
    if (this.inner) return this.inner.status();
    return {
      name: this.name,
      family: this.family,
      chainId: '',
      ...newAdapterState(),
      lag: null,
      rangeSize: 0,
    };
  }
}

/**
 * Push-to-pull adapter behind `client.messages()`. It subscribes at once (an async generator would only
 * subscribe on its first `next()`, losing whatever arrives in between) and buffers without bound, so a
 * consumer that stops reading must `break` (or call `return()`) to unsubscribe.
 */

import type { Message } from '../posbus/index.ts';
import type { TypedEmitter } from './events.ts';
import type { ClientEvents } from './types.ts';

export interface Sink<T> {
  push(value: T): void;
  end(): void;
}

export function eventIterator<T>(subscribe: (sink: Sink<T>) => () => void): AsyncIterableIterator<T> {
  const buffer: T[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const unsubscribe = subscribe({
    push(value) {
      if (ended) return;
      buffer.push(value);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
  });
  const finish = (): IteratorResult<T> => {
    ended = true;
    buffer.length = 0;
    unsubscribe();
    // A next() still awaiting (return() called from elsewhere) must see the end too.
    wake?.();
    return { done: true, value: undefined };
  };
  return {
    async next(): Promise<IteratorResult<T>> {
      while (buffer.length === 0) {
        if (ended) return finish();
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      return { done: false, value: buffer.shift() as T };
    },
    async return(): Promise<IteratorResult<T>> {
      return finish();
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Every message of `events` from now on, ending with the final close (at once if already closed). */
export function messageIterator(
  events: TypedEmitter<ClientEvents>,
  closed: boolean,
): AsyncIterableIterator<Message> {
  return eventIterator<Message>((sink) => {
    if (closed) {
      sink.end();
      return () => {};
    }
    const offMessage = events.on('message', (m) => sink.push(m));
    const offClose = events.on('close', (e) => {
      if (!e.willReconnect) sink.end();
    });
    return () => {
      offMessage();
      offClose();
    };
  });
}

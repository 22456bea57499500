/**
 * A tiny typed emitter. Unlike Node's EventEmitter it never throws out of `emit`: a throwing handler
 * must not break the socket's read loop or keep later handlers from running, so its error goes to
 * `onHandlerError` instead.
 */

type AnyHandler = (event: unknown) => void;

export class TypedEmitter<Events extends object> {
  readonly #handlers = new Map<keyof Events, Set<AnyHandler>>();
  readonly #onHandlerError: (type: keyof Events, error: unknown) => void;

  constructor(onHandlerError: (type: keyof Events, error: unknown) => void) {
    this.#onHandlerError = onHandlerError;
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof Events>(type: K, handler: (event: Events[K]) => void): () => void {
    let set = this.#handlers.get(type);
    if (!set) {
      set = new Set();
      this.#handlers.set(type, set);
    }
    // Wrap so the same function can be subscribed twice and each unsubscribe removes only its own.
    const entry: AnyHandler = (event) => handler(event as Events[K]);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** Subscribes for the first matching event only. */
  once<K extends keyof Events>(type: K, handler: (event: Events[K]) => void): () => void {
    const off = this.on(type, (event) => {
      off();
      handler(event);
    });
    return off;
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.#handlers.get(type);
    if (!set || set.size === 0) return;
    // Snapshot: handlers that unsubscribe (or subscribe) while we iterate must not skip or repeat others.
    for (const handler of [...set]) {
      try {
        handler(event);
      } catch (error) {
        this.#onHandlerError(type, error);
      }
    }
  }

  listenerCount(type: keyof Events): number {
    return this.#handlers.get(type)?.size ?? 0;
  }

  clear(): void {
    this.#handlers.clear();
  }
}

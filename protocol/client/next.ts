/**
 * `client.next()`: a one-shot wait on the event stream. It gives up on the final close too, so a test
 * awaiting a message that will never come fails with the close's code instead of only its timeout.
 */
import { AbortedError, ConnectionClosedError, PosbusTimeoutError } from './errors.ts';
import type { TypedEmitter } from './events.ts';
import {
  asError,
  type ClientEventName,
  type ClientEvents,
  DEFAULT_TIMEOUT_MS,
  type NextOptions,
} from './types.ts';

export function nextEvent<K extends ClientEventName>(
  events: TypedEmitter<ClientEvents>,
  type: K,
  opts: NextOptions<ClientEvents[K]>,
): Promise<ClientEvents[K]> {
  return new Promise<ClientEvents[K]>((resolve, reject) => {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const offs: (() => void)[] = [];
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => settle(new AbortedError(`next('${type}') aborted`));
    const settle = (error: Error | undefined, event?: ClientEvents[K]): void => {
      if (settled) return;
      settled = true;
      for (const off of offs) off();
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(event as ClientEvents[K]);
    };
    offs.push(
      events.on(type, (event) => {
        // A throwing filter rejects this wait rather than becoming an 'error' event of the client.
        try {
          if (!opts.filter || opts.filter(event)) settle(undefined, event);
        } catch (error) {
          settle(asError(error));
        }
      }),
    );
    if (type !== 'close') {
      offs.push(
        events.on('close', (e) => {
          if (!e.willReconnect) settle(new ConnectionClosedError(e.code, e.reason, false));
        }),
      );
    }
    if (Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => settle(new PosbusTimeoutError(`next('${type}')`, timeoutMs)), timeoutMs);
    }
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

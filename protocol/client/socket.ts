/**
 * The slice of the WHATWG WebSocket the client uses, so the browser's native WebSocket, Node's global
 * (undici) one and the `ws` package all fit without the SDK importing any of them.
 */

/** Every WebSocket event has a `type`; the client reads `data`, `code` and `reason` where present. */
export interface SocketEvent {
  readonly type: string;
}

export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: SocketEvent) => void,
  ): void;
  removeEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: SocketEvent) => void,
  ): void;
}

export type WebSocketCtor = new (url: string) => WebSocketLike;

/** readyState values are fixed by the WHATWG spec; not every implementation exposes them statically. */
export const OPEN = 1;
export const CLOSED = 3;

export function defaultWebSocket(): WebSocketCtor | undefined {
  const ctor = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  return typeof ctor === 'function' ? ctor : undefined;
}

/** The bot SDK passes the back end's http(s) URL; older WebSocket implementations only take ws(s). */
export function toWebSocketUrl(url: string): string {
  if (url.startsWith('https://')) return `wss://${url.slice(8)}`;
  if (url.startsWith('http://')) return `ws://${url.slice(7)}`;
  return url;
}

/**
 * The bytes of a binary message event. With binaryType 'arraybuffer' this is an ArrayBuffer everywhere;
 * views are accepted for a `ws` socket someone configured as 'nodebuffer'. Anything else (a text frame,
 * a Blob) → undefined.
 */
export function messageBytes(event: SocketEvent): Uint8Array | undefined {
  const data = (event as { data?: unknown }).data;
  // toString tag instead of instanceof: the ArrayBuffer may come from another realm (iframe, vm).
  if (Object.prototype.toString.call(data) === '[object ArrayBuffer]')
    return new Uint8Array(data as ArrayBuffer);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

export function closeDetails(event: SocketEvent): { code: number; reason: string } {
  const e = event as { code?: unknown; reason?: unknown };
  return {
    code: typeof e.code === 'number' ? e.code : 1006,
    reason: typeof e.reason === 'string' ? e.reason : '',
  };
}

/**
 * Closes a socket and waits for its close event, but at most `capMs`: a peer that never answers the
 * closing handshake would otherwise hold `client.close()` for `ws`'s 30 s close timeout.
 */
export function closeSocket(
  socket: WebSocketLike,
  code: number,
  reason: string,
  capMs = 2000,
): Promise<void> {
  return new Promise<void>((resolve) => {
    if (socket.readyState === CLOSED) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      socket.removeEventListener('close', done);
      resolve();
    };
    const timer = setTimeout(done, capMs);
    socket.addEventListener('close', done);
    try {
      socket.close(code, reason);
    } catch {
      done();
    }
  });
}

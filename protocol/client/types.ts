/** Public types of the client: options, lifecycle events and the event map. */
import type { Message, MessageOf, MessageType, SessionGrant, Umid } from '../posbus/index.ts';
import type { ReconnectOptions } from './backoff.ts';
import type { WebSocketCtor } from './socket.ts';

export interface ConnectOptions {
  /** JWT from the REST API; its `sub` must equal `userId`. */
  token: string;
  userId: Umid;
  /** Default: a fresh UUIDv7, kept for every reconnect of this client (that is how the server tells a reconnect from a second tab). */
  sessionId?: Umid;
  /** Default: globalThis.WebSocket (browsers, Node ≥ 22). Pass `ws`'s WebSocket to use that package. */
  WebSocket?: WebSocketCtor;
  /** Default: reconnect with backoff from 1 s up to 30 s, forever. `false`: never reconnect. */
  reconnect?: ReconnectOptions | false;
  /**
   * Default 1, like the reference client. Asking for any extension below (compact, resume,
   * maxBytesPerSecond) sends 2 and a SessionRequest behind the HandShake (docs/posbus.md "Extension").
   */
  handshakeVersion?: number;
  /** Ask for the compact position stream; positions still arrive as `UsersTransformList` events. */
  compact?: boolean;
  /** Ask to resume the session after a dropped connection (within the server's grace period). */
  resume?: boolean;
  /** Ask the server to keep position frames to this many bytes per second (nearest users first). */
  maxBytesPerSecond?: number;
  /** Default 1, like the reference client. */
  protocolVersion?: number;
  /** How long opening a socket may take. Default 10000. */
  connectTimeoutMs?: number;
  /** Default for teleport(). Default 10000. */
  teleportTimeoutMs?: number;
}

export interface OpenEvent {
  reconnected: boolean;
}
/** `willReconnect: false` marks the last close event: the client is then closed for good. */
export interface CloseEvent {
  code: number;
  reason: string;
  willReconnect: boolean;
}
export interface ReconnectEvent {
  attempt: number;
  delayMs: number;
}

/** Every PosBus message type by name, plus the client's own lifecycle events. */
export type ClientEvents = { [K in MessageType]: MessageOf<K> } & {
  message: Message;
  open: OpenEvent;
  close: CloseEvent;
  reconnect: ReconnectEvent;
  /** The server's answer to the extension request, on every connection (extended clients only). */
  session: SessionGrant;
  /** An undecodable or text inbound frame, or a throwing handler (HandlerError). The client stays open. */
  error: Error;
};
export type ClientEventName = keyof ClientEvents;

export interface NextOptions<T> {
  /** Default 10000; Infinity waits until the client closes. */
  timeoutMs?: number;
  filter?: (event: T) => boolean;
  signal?: AbortSignal;
}

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export const DEFAULT_TIMEOUT_MS = 10_000;

/** 1008 is the server's "bad token"; 4xxx are its "replaced by another connection" family. */
export function isReconnectableClose(code: number): boolean {
  return code !== 1008 && (code < 4000 || code > 4999);
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

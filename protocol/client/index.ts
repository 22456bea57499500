/**
 * Typed PosBus client SDK for browsers and Node: `connect(url, opts)` → PosbusClient;
 * `connectNearest(baseUrl, { world })` picks the node that serves a world best and connects there.
 * Depends only on the codec and a WHATWG-style WebSocket (native, Node's global, or `ws`).
 */

export { isUuidV7, uuidv7, uuidv7Time } from '../uuid.ts';
export { backoffDelay, type ReconnectOptions } from './backoff.ts';
export { connect, PosbusClient } from './client.ts';
export {
  AbortedError,
  ConnectionClosedError,
  HandlerError,
  NotConnectedError,
  PosbusClientError,
  PosbusTimeoutError,
  TeleportPacedError,
  UnexpectedFrameError,
  WorldNotFoundError,
} from './errors.ts';
export {
  type Credentials,
  connectNearest,
  type NearestAttempt,
  type NearestCandidate,
  type NearestConnection,
  type NearestOptions,
  NoNodeReachableError,
  nearestCandidates,
  probeNode,
} from './nearest.ts';
export type { SocketEvent, WebSocketCtor, WebSocketLike } from './socket.ts';
export type { TeleportWaitOptions } from './teleports.ts';
export {
  type ClientEventName,
  type ClientEvents,
  type ClientState,
  type CloseEvent,
  type ConnectOptions,
  isReconnectableClose,
  type NextOptions,
  type OpenEvent,
  type ReconnectEvent,
} from './types.ts';

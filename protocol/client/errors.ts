/**
 * Typed errors of the PosBus client. Each has a stable `name` so callers can branch on it even across
 * bundles where `instanceof` fails (two copies of the SDK in one page).
 */
import type { Umid } from '../posbus/index.ts';

/** Base class: every error the client rejects with or emits (except PosbusDecodeError) extends it. */
export class PosbusClientError extends Error {
  override readonly name: string = 'PosbusClientError';
}

/** The server answered a TeleportRequest with Signal{9} (world_does_not_exist). */
export class WorldNotFoundError extends PosbusClientError {
  override readonly name = 'WorldNotFoundError';
  readonly worldId: Umid;

  constructor(worldId: Umid) {
    super(`world ${worldId} does not exist`);
    this.worldId = worldId;
  }
}

/**
 * An odyssey-node refused the teleport for pacing (`--teleports-per-minute`): the world exists, the client
 * is where it was; try again in a moment.
 */
export class TeleportPacedError extends PosbusClientError {
  override readonly name = 'TeleportPacedError';
  readonly worldId: Umid;

  constructor(worldId: Umid) {
    super(`teleport to ${worldId} refused: too many teleports, wait a moment and try again`);
    this.worldId = worldId;
  }
}

/** A teleport, next() or connect did not complete in time. */
export class PosbusTimeoutError extends PosbusClientError {
  override readonly name = 'PosbusTimeoutError';
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number) {
    super(`${what} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The connection closed while something was waiting on it. `willReconnect` tells whether the client
 * keeps trying (a teleport still fails: the server forgets requests of a dead connection).
 */
export class ConnectionClosedError extends PosbusClientError {
  override readonly name = 'ConnectionClosedError';
  readonly code: number;
  readonly reason: string;
  readonly willReconnect: boolean;

  constructor(code: number, reason: string, willReconnect: boolean) {
    super(`posbus connection closed (${code}${reason ? ` ${reason}` : ''})`);
    this.code = code;
    this.reason = reason;
    this.willReconnect = willReconnect;
  }
}

/** An operation that needs a live socket was tried while connecting, reconnecting or closed. */
export class NotConnectedError extends PosbusClientError {
  override readonly name = 'NotConnectedError';
}

/** The caller's AbortSignal fired. */
export class AbortedError extends PosbusClientError {
  override readonly name = 'AbortedError';
}

/** An inbound text frame, or binary data in a form the client cannot read (SPEC §1: frames are binary). */
export class UnexpectedFrameError extends PosbusClientError {
  override readonly name = 'UnexpectedFrameError';
}

/** An event handler threw; the original error is `cause`. Reported as an 'error' event, never rethrown. */
export class HandlerError extends PosbusClientError {
  override readonly name = 'HandlerError';
  readonly event: string;

  constructor(event: string, cause: unknown) {
    super(`handler of '${event}' threw: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.event = event;
  }
}

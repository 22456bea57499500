/**
 * Resume after a short drop (docs/posbus.md, extension): a client that negotiated resume and lost its
 * connection gets its session back on a new socket within the grace period — its avatar never left the
 * world — and receives what it missed, or a fresh snapshot when the replay log no longer covers it.
 *
 * Three moments, each a function here, called by node/posbus/session.ts:
 * - a socket closes: `parksOnClose` says whether the session waits for a resume instead of ending;
 * - a new connection's handshake carries a resume token: `resumeInto` hands its socket, and the frames
 *   the client queued behind the request, to the session the token names, and the new session dissolves;
 * - the named session takes the socket over: `adopt`.
 */
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { SessionRequest } from '../../protocol/posbus/index.ts';
import type { Extension } from './extension.ts';

/** A frame a client sent behind its HandShake, before the handshake was verified. */
export type EarlyFrame = [RawData, boolean];

/** What resuming needs of a session: its socket, its sends and its input (implemented by Session). */
export interface ResumeParty {
  /** Lets go of the current socket (closed if still open) and serves `ws` from now on. */
  takeSocket(ws: WebSocket): void;
  /** Sends a frame the replay log must not record again (a grant, a replayed frame). */
  sendUnrecorded(frame: Uint8Array): void;
  /** Sends the whole world picture again (what a resume gets when the replay log no longer covers it). */
  snapshot(): void;
  /** Handles a frame from the client as any other. */
  receive(data: RawData, isBinary: boolean): void;
}

/** The new connection's side of a resume request. */
export interface Resumer {
  /** The live or dropped session `token` names (of this user, token matching), if any. */
  find(
    token: string,
  ): { adopt(ws: WebSocket, request: SessionRequest, early: EarlyFrame[]): void } | undefined;
  /** Ends this session without a goodbye, letting go of its socket; returns the socket and its early frames. */
  dissolve(): { ws: WebSocket; early: EarlyFrame[] };
}

/**
 * True when the closed socket is a drop to wait out rather than the end: resume negotiated, a cut (1006:
 * no closing handshake) the node did not cause, the session not already over.
 */
export function parksOnClose(
  ext: Extension,
  code: number,
  state: { readonly closedByServer: boolean; readonly ended: boolean },
): boolean {
  return ext.canPark && !state.closedByServer && code === 1006 && !state.ended;
}

/**
 * A resume request naming a session of this user: that session takes this socket (and the frames queued
 * behind the request) and this one dissolves. False when there is nothing to resume.
 */
export function resumeInto(request: SessionRequest, resumer: Resumer, log: Logger, userId: string): boolean {
  if (!request.resumeToken) return false;
  const target = resumer.find(request.resumeToken);
  if (!target) {
    log.debug({ userId }, 'resume refused: no such session or wrong token');
    return false;
  }
  const { ws, early } = resumer.dissolve();
  target.adopt(ws, request, early);
  return true;
}

/** Goes on over a new socket: the grant, then what the client missed (or a snapshot), then live frames. */
export function adopt(
  party: ResumeParty,
  ext: Extension,
  log: Logger,
  ws: WebSocket,
  request: SessionRequest,
  early: EarlyFrame[],
): void {
  party.takeSocket(ws);
  const { grant, replay } = ext.resumed(request);
  party.sendUnrecorded(grant);
  log.debug({ replayed: replay?.length, snapshot: !replay }, 'session resumed');
  if (replay) for (const frame of replay) party.sendUnrecorded(frame);
  else party.snapshot();
  for (const [data, binary] of early) party.receive(data, binary);
}

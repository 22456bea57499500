/**
 * One PosBus connection: handshake, then the user's messages dispatched to the controllers, with limits
 * on frame size, rate and malformed input, and a bounded send queue.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { TokenBucket } from '../../common/token-bucket.ts';
import { decode, type Message, PosbusDecodeError, type SessionRequest } from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import type { Member, Seat } from '../world/room.ts';
import { CloseCode } from './close-codes.ts';
import { dispatchMessage, type MessageContext } from './dispatch.ts';
import { EarlyFrames } from './early-frames.ts';
import { Extension, SessionRequestError } from './extension.ts';
import {
  CLASSIC_REQUEST,
  HandshakeError,
  type SessionLimits,
  type SessionRegistry,
  type SessionServices,
  type StakeReporter,
  toBytes,
} from './session-components.ts';
import { verifyHandshake } from './session-handshake.ts';
import {
  adopt,
  type EarlyFrame,
  parksOnClose,
  type ResumeParty,
  type Resumer,
  resumeInto,
} from './session-resume.ts';
import { directSocket, sharedFrame, socketOf } from './shared-frames.ts';

export type { SessionLimits, StakeReporter };
/** What a session is given: the services, and the server's registry of sessions. */
export type SessionComponents = SessionServices & SessionRegistry<Session>;

/** Teleports a session may make at once before `--teleports-per-minute` paces it. */
const TELEPORT_BURST = 5;

export class Session implements Member {
  private ws: WebSocket;
  private readonly c: SessionComponents;
  private readonly limits: SessionLimits;
  private log: Logger;
  private userRecord: UserRecord | undefined;
  sessionId = '';
  private bucket: TokenBucket;
  private badFrames = 0;
  private alive = true;
  private pingTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** Set while a teleport is in flight: later messages wait for it, so they apply to the new world. */
  private pending: Promise<void> | undefined;
  private ended = false;
  /** Set when the node closed the socket itself: such a close is never a drop to resume from. */
  private closedByServer = false;
  /** The code the node closed the socket with (when `closedByServer`). */
  private serverCloseCode = 0;
  /** The extension's state (compact positions, resume, budget) when the client negotiated it. */
  private ext: Extension | undefined;
  /** Set by the room this session's user is in (world/room.ts). */
  seat: Seat | undefined = undefined;
  private readonly onSocketMessage = (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary);
  private readonly onSocketClose = (code: number) => this.onClosed(code);
  private readonly onSocketError = (error: Error) => this.log.debug({ err: error }, 'socket error');
  private readonly onPong = () => {
    this.alive = true;
  };
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(ws: WebSocket, components: SessionComponents, limits: SessionLimits) {
    this.ws = ws;
    this.c = components;
    this.limits = limits;
    this.log = components.logger.child({ component: 'posbus' });
    this.bucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst);
    const teleports = new TokenBucket(limits.teleportsPerMinute / 60, TELEPORT_BURST);
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.handshakeTimer = setTimeout(
      () => this.close(CloseCode.Timeout, 'no handshake in time'),
      limits.handshakeTimeoutMs,
    );
    this.handler = {
      member: this,
      components: this.c,
      user: () => this.user,
      logger: () => this.log,
      bad: (reason, code, counts) => this.bad(reason, code, counts),
      guard: (work) => this.guard(work),
      mayTeleport: () => teleports.take(),
    };
    this.listen(ws);
  }

  private listen(ws: WebSocket): void {
    ws.on('message', this.onSocketMessage);
    ws.on('close', this.onSocketClose);
    ws.on('error', this.onSocketError);
  }

  private unlisten(ws: WebSocket): void {
    ws.off('message', this.onSocketMessage);
    ws.off('close', this.onSocketClose);
    ws.off('error', this.onSocketError);
    ws.off('pong', this.onPong);
    // The socket may still fail after we let go of it; an unheard 'error' would end the process.
    ws.on('error', () => {});
  }

  get user(): UserRecord {
    if (!this.userRecord) throw new Error('session has no user before its handshake');
    return this.userRecord;
  }

  /** True while the session lives: with an open socket, or dropped and waiting for a resume. */
  get connected(): boolean {
    return !this.ended && (this.ext?.dropped === true || this.ws.readyState === this.ws.OPEN);
  }

  get userId(): string | undefined {
    return this.userRecord?.id;
  }

  sendReliable(frame: Uint8Array): void {
    if (this.ended) return;
    // Kept for a resume first: a frame the socket never delivers is one the client will ask for.
    this.ext?.replay?.record(frame);
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount + frame.length > this.limits.maxQueuedBytes) {
      this.close(CloseCode.SlowConsumer, `send queue over ${this.limits.maxQueuedBytes} bytes`);
      return;
    }
    this.ws.send(frame);
    this.ext?.positions?.onReliable(frame);
    this.c.traffic?.sent(frame);
  }

  /**
   * A frame the replay log must not keep again: the session grants, and the frames a resume replays
   * (already in the log). Counted and seen by the position stream like any reliable frame.
   */
  private sendUnrecorded(frame: Uint8Array): void {
    this.ws.send(frame);
    this.ext?.positions?.onReliable(frame);
    this.c.traffic?.sent(frame);
  }

  /** The socket under `cork`, uncorked by `uncork` even if the session swapped sockets in between. */
  private corked: Socket | undefined;

  cork(): void {
    // ws corks the same socket around each of its own sends too.
    const socket = socketOf(this.ws);
    if (!socket || this.corked) return;
    socket.cork();
    this.corked = socket;
  }

  uncork(): void {
    const socket = this.corked;
    this.corked = undefined;
    socket?.uncork();
  }

  get backlogged(): boolean {
    return this.ext?.dropped === true || this.ws.bufferedAmount > this.limits.positionBacklogBytes;
  }

  sendDroppable(frame: Uint8Array): boolean {
    if (this.ended || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.backlogged) {
      if (this.c.traffic) this.c.traffic.dropped++;
      return false;
    }
    const positions = this.ext?.positions;
    if (!positions) {
      // The classic stream: the tick's frame as it is, framed once for every member it goes to.
      const socket = directSocket(this.ws);
      if (socket) socket.write(sharedFrame(frame));
      else this.ws.send(frame);
      this.c.traffic?.sent(frame);
      return true;
    }
    const out = positions.next(frame);
    if (out) {
      this.ws.send(out);
      this.c.traffic?.sent(out);
    }
    return true;
  }

  close(code: number, reason: string): void {
    if (!this.closedByServer) this.serverCloseCode = code;
    this.closedByServer = true;
    if (this.ext?.dropped) {
      void this.end();
      return;
    }
    const ws = this.ws;
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      this.log.debug({ userId: this.userId, code, reason }, 'closing session');
      ws.close(code, reason);
      // A peer that never answers the close handshake must not keep the session alive. This socket,
      // not `this.ws`: the session may be serving another by then.
      setTimeout(() => ws.terminate(), 2000).unref();
    }
  }

  /** Set from the HandShake until it is verified: what the client sent behind it. */
  private early: EarlyFrames | undefined;

  private onMessage(data: RawData, isBinary: boolean): void {
    // Once the node closed the session, a peer that ignores the close (it may have been replaced by a
    // newer session of the user, or refused for misbehaving) acts on nothing any more.
    if (this.closedByServer || this.ended) return;
    if (this.userRecord) {
      this.receive(data, isBinary);
    } else if (this.early) {
      if (!this.early.push([data, isBinary], toBytes(data).length)) {
        if (this.c.traffic) this.c.traffic.rejected++;
        this.close(CloseCode.Policy, 'too much sent before the handshake completed');
      }
    } else {
      this.early = new EarlyFrames(this.limits.maxFrameBytes);
      void this.handshake(data, isBinary);
    }
  }

  private async handshake(data: RawData, isBinary: boolean): Promise<void> {
    clearTimeout(this.handshakeTimer);
    const early = this.early as EarlyFrames;
    try {
      const { user, sessionId, request } = await verifyHandshake(this.c, this.limits, [data, isBinary], () =>
        early.next(
          () => this.ws.readyState === this.ws.OPEN,
          () => new HandshakeError(CloseCode.Policy, 'socket closed'),
        ),
      );
      this.sessionId = sessionId;
      if (request) {
        if (this.ws.readyState !== this.ws.OPEN) return;
        // The server finds the session to resume by this one's user.
        this.userRecord = user;
        if (resumeInto(request, this.resumer, this.log, user.id)) return;
        this.ext = new Extension(request, this.limits, user.id, () => this.selfPosition());
      } else {
        this.userRecord = user;
        // A classic client gets classic frames; the node's budget still applies to it.
        if (this.limits.clientBudgetBytesPerSecond > 0)
          this.ext = new Extension(CLASSIC_REQUEST, this.limits, user.id, () => this.selfPosition(), false);
      }
    } catch (e) {
      const error =
        e instanceof HandshakeError
          ? e
          : new HandshakeError(
              CloseCode.Policy,
              e instanceof SessionRequestError ? e.message : 'handshake failed',
            );
      if (this.c.traffic) this.c.traffic.rejected++;
      this.log.info({ reason: error.message }, 'handshake refused');
      this.close(error.code, error.message);
      return;
    }
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.log = this.log.child({ userId: this.user.id });
    this.c.bind(this);
    if (this.ext?.extended) this.sendUnrecorded(this.ext.grantFresh());
    for (const [early, binary] of this.early?.takeAll() ?? []) this.receive(early, binary);
    this.early = undefined;
    this.ws.on('pong', this.onPong);
    this.pingTimer = setInterval(() => this.ping(), this.limits.pingIntervalMs);
    this.markReady();
  }

  /** The new connection's side of a resume (session-resume.ts). */
  private readonly resumer: Resumer = {
    find: (token) => this.c.resumable(this, token),
    dissolve: () => {
      const ws = this.ws;
      const early = this.early?.takeAll() ?? [];
      this.unlisten(ws);
      this.ended = true;
      clearTimeout(this.handshakeTimer);
      this.userRecord = undefined;
      this.c.unbind(this);
      this.early = undefined;
      return { ws, early };
    },
  };

  /** The resumed session's side (session-resume.ts): its socket, sends and input. */
  private readonly party: ResumeParty = {
    takeSocket: (ws) => {
      const old = this.ws;
      this.unlisten(old);
      if (old.readyState !== old.CLOSED) old.terminate();
      this.ws = ws;
      this.listen(ws);
      ws.on('pong', this.onPong);
      this.alive = true;
      this.closedByServer = false;
      this.serverCloseCode = 0;
    },
    sendUnrecorded: (frame) => this.sendUnrecorded(frame),
    snapshot: () => this.c.worlds.snapshot(this),
    receive: (data, binary) => this.receive(data, binary),
  };

  /** Goes on over a new socket (a resume of this session from another connection). */
  adopt(ws: WebSocket, request: SessionRequest, early: EarlyFrame[]): void {
    adopt(this.party, this.ext as Extension, this.log, ws, request, early);
  }

  /** True when a resume request with `token` may take this session over (live or dropped). */
  resumableWith(token: string): boolean {
    // A session the node closed (policy, slow consumer, replaced) ended: no resume brings it back. A
    // missed pong is the exception: a silent link, what resume is for, not something the client did.
    const resumable = !this.closedByServer || this.serverCloseCode === CloseCode.Timeout;
    return !this.ended && resumable && this.ext?.matches(token) === true;
  }

  private selfPosition() {
    const userId = this.userRecord?.id;
    return userId ? this.c.worlds.roomOf(userId)?.transformOf(userId)?.position : undefined;
  }

  /** The socket closed: the end of the session, or with resume negotiated and a dropped connection, a pause. */
  private onClosed(code: number): void {
    // A handshake waiting for its SessionRequest sees the socket gone and gives up now, not at its timeout.
    this.early?.wake();
    // 1006: the connection went away without a closing handshake (a cut, not a goodbye).
    if (
      this.ext &&
      parksOnClose(this.ext, code, { closedByServer: this.closedByServer, ended: this.ended })
    ) {
      this.ext.park(() => void this.end());
      this.log.debug({ graceMs: this.limits.resumeGraceMs }, 'connection dropped: kept for a resume');
      return;
    }
    void this.end();
  }

  private ping(): void {
    if (this.ext?.dropped) return;
    if (!this.alive) {
      this.log.debug('no pong: closing');
      this.close(CloseCode.Timeout, 'no pong to ping');
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  private receive(data: RawData, isBinary: boolean): void {
    const frame = toBytes(data);
    this.c.traffic?.received(frame);
    if (frame.length > this.limits.maxFrameBytes) {
      if (this.c.traffic) this.c.traffic.rejected++;
      this.close(CloseCode.TooBig, `frame over ${this.limits.maxFrameBytes} bytes`);
      return;
    }
    if (!this.bucket.take()) {
      this.bad('rate limit exceeded', CloseCode.Policy);
      return;
    }
    if (!isBinary) {
      this.bad('text frame');
      return;
    }
    let message: Message;
    try {
      message = decode(frame);
    } catch (e) {
      this.bad(e instanceof PosbusDecodeError ? e.message : 'undecodable frame');
      return;
    }
    if (this.pending) {
      const run = this.pending.then(() => this.dispatch(message));
      this.pending = run;
      void run.then(() => {
        if (this.pending === run) this.pending = undefined;
      });
    } else {
      const result = this.dispatch(message);
      if (result) {
        this.pending = result;
        void result.then(() => {
          if (this.pending === result) this.pending = undefined;
        });
      }
    }
  }

  /** What dispatch.ts may do with this session: it is the member, and it counts refused frames. */
  private readonly handler: MessageContext;

  /** Handles one message; returns a promise only for work later messages must wait for. */
  private dispatch(message: Message): Promise<void> | undefined {
    // Messages queued behind a teleport may come due after the node closed the session: a newer session
    // of the user may hold the avatar by then (a teleport here would pull it out of its world).
    if (this.ended || this.closedByServer) return undefined;
    return dispatchMessage(this.handler, message);
  }

  /** A controller failure is logged and ends nothing else: other sessions never see it. */
  private guard(work: Promise<void>): Promise<void> {
    return work.catch((error) => this.log.error({ err: error }, 'message handling failed'));
  }

  /** Counts a bad frame; past the limit the session is closed. */
  private bad(reason: string, code: number = CloseCode.InvalidPayload, counts = true): void {
    this.log.debug({ reason }, 'frame refused');
    if (this.c.traffic) this.c.traffic.rejected++;
    if (!counts) return;
    this.badFrames++;
    if (this.badFrames > this.limits.maxBadFrames)
      this.close(code, `too many refused frames (last: ${reason})`.slice(0, 120));
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.handshakeTimer);
    clearInterval(this.pingTimer);
    this.ext?.stop();
    this.c.unbind(this);
  }
}

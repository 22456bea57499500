/**
 * One PosBus connection: handshake, then the user's messages dispatched to the controllers, with limits
 * on frame size, rate and malformed input, and a bounded send queue.
 */
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { DomainError } from '../../common/errors.ts';
import {
  decode,
  type HandShake,
  type Message,
  PosbusDecodeError,
  SignalType,
} from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { NodeConfig } from '../config.ts';
import { TokenBucket } from '../token-bucket.ts';
import type { UserController } from '../user/user-controller.ts';
import type { UserStore } from '../user/user-store.ts';
import type { Member } from '../world/room.ts';
import type { WorldController } from '../world/world-controller.ts';
import { CloseCode } from './close-codes.ts';
import type { PosbusTraffic } from './traffic.ts';

/** Frames a client may send behind its HandShake before the handshake is verified. */
const EARLY_FRAMES = 8;

export type SessionLimits = Pick<
  NodeConfig,
  | 'maxFrameBytes'
  | 'maxHandshakeBytes'
  | 'handshakeTimeoutMs'
  | 'messagesPerSecond'
  | 'messageBurst'
  | 'maxBadFrames'
  | 'positionBacklogBytes'
  | 'maxQueuedBytes'
  | 'pingIntervalMs'
>;

export interface SessionComponents {
  tokens: TokenService;
  users: UserStore;
  worlds: WorldController;
  userController: UserController;
  /** Where `UserStakedToOdyssey` reports go; without it they are only logged. */
  stakes?: StakeReporter;
  logger: Logger;
  /** Frame counters for /metrics (node/posbus/traffic.ts). */
  traffic?: PosbusTraffic;
  /** Binds the session to its user once the handshake passes; replaces an older session of that user. */
  bind(session: Session): void;
  /** Called once when the session ends. */
  unbind(session: Session): void;
}

/** Takes client-reported stakes (the harvester's stake controller); rejects what it refuses. */
export interface StakeReporter {
  report(
    user: UserRecord,
    input: {
      transactionId: string;
      odysseyId: string;
      wallet: string;
      amount: string;
      comment: string;
      kind: number;
    },
  ): Promise<unknown>;
}

class HandshakeError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export class Session implements Member {
  private readonly ws: WebSocket;
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
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(ws: WebSocket, components: SessionComponents, limits: SessionLimits) {
    this.ws = ws;
    this.c = components;
    this.limits = limits;
    this.log = components.logger.child({ component: 'posbus' });
    this.bucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst);
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.handshakeTimer = setTimeout(
      () => this.close(CloseCode.Timeout, 'no handshake in time'),
      limits.handshakeTimeoutMs,
    );
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => void this.end());
    ws.on('error', (error) => this.log.debug({ err: error }, 'socket error'));
  }

  get user(): UserRecord {
    if (!this.userRecord) throw new Error('session has no user before its handshake');
    return this.userRecord;
  }

  get connected(): boolean {
    return !this.ended && this.ws.readyState === this.ws.OPEN;
  }

  get userId(): string | undefined {
    return this.userRecord?.id;
  }

  sendReliable(frame: Uint8Array): void {
    if (this.ended || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount + frame.length > this.limits.maxQueuedBytes) {
      this.close(CloseCode.SlowConsumer, `send queue over ${this.limits.maxQueuedBytes} bytes`);
      return;
    }
    this.ws.send(frame);
    this.c.traffic?.sent(frame);
  }

  get backlogged(): boolean {
    return this.ws.bufferedAmount > this.limits.positionBacklogBytes;
  }

  sendDroppable(frame: Uint8Array): boolean {
    if (this.ended || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.backlogged) {
      if (this.c.traffic) this.c.traffic.dropped++;
      return false;
    }
    this.ws.send(frame);
    this.c.traffic?.sent(frame);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.log.debug({ userId: this.userId, code, reason }, 'closing session');
      this.ws.close(code, reason);
      // A peer that never answers the close handshake must not keep the session alive.
      setTimeout(() => this.ws.terminate(), 2000).unref();
    }
  }

  /**
   * Clients send their first requests right behind the handshake, before it is verified: those wait
   * here (bounded like any other input) and run in order once the user is known.
   */
  private early: [RawData, boolean][] | undefined;

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.userRecord) {
      this.receive(data, isBinary);
    } else if (this.early) {
      // Unauthenticated memory stays small: a few normal-sized frames, no more.
      if (this.early.length >= EARLY_FRAMES || toBytes(data).length > this.limits.maxFrameBytes) {
        if (this.c.traffic) this.c.traffic.rejected++;
        this.close(CloseCode.Policy, 'too much sent before the handshake completed');
      } else this.early.push([data, isBinary]);
    } else {
      this.early = [];
      void this.handshake(data, isBinary);
    }
  }

  private async handshake(data: RawData, isBinary: boolean): Promise<void> {
    clearTimeout(this.handshakeTimer);
    try {
      const frame = toBytes(data);
      this.c.traffic?.received(frame);
      if (!isBinary)
        throw new HandshakeError(CloseCode.Policy, 'the first message must be a binary HandShake frame');
      if (frame.length > this.limits.maxHandshakeBytes)
        throw new HandshakeError(CloseCode.TooBig, 'handshake frame too large');
      let message: Message;
      try {
        message = decode(frame);
      } catch (e) {
        throw new HandshakeError(CloseCode.Policy, `malformed handshake: ${(e as Error).message}`);
      }
      if (message.type !== 'HandShake')
        throw new HandshakeError(CloseCode.Policy, `expected HandShake, got ${message.type}`);
      this.userRecord = await this.authenticate(message);
      this.sessionId = message.sessionId;
    } catch (e) {
      const error =
        e instanceof HandshakeError ? e : new HandshakeError(CloseCode.Policy, 'handshake failed');
      if (this.c.traffic) this.c.traffic.rejected++;
      this.log.info({ reason: error.message }, 'handshake refused');
      this.close(error.code, error.message);
      return;
    }
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.log = this.log.child({ userId: this.user.id });
    this.c.bind(this);
    for (const [early, binary] of this.early ?? []) this.receive(early, binary);
    this.early = undefined;
    this.ws.on('pong', () => {
      this.alive = true;
    });
    this.pingTimer = setInterval(() => this.ping(), this.limits.pingIntervalMs);
    this.markReady();
  }

  private async authenticate(message: HandShake): Promise<UserRecord> {
    let sub: string;
    try {
      sub = (await this.c.tokens.verify(message.token)).sub;
    } catch (e) {
      throw new HandshakeError(CloseCode.Policy, e instanceof DomainError ? e.message : 'invalid token');
    }
    if (sub !== message.userId)
      throw new HandshakeError(CloseCode.Policy, 'token does not belong to user_id');
    const user = await this.c.users.get(sub);
    if (!user) throw new HandshakeError(CloseCode.Policy, 'unknown user');
    return user;
  }

  private ping(): void {
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

  /** Handles one message; returns a promise only for work later messages must wait for. */
  private dispatch(message: Message): Promise<void> | undefined {
    if (this.ended) return undefined;
    const { worlds, userController } = this.c;
    switch (message.type) {
      case 'MyTransform':
        if (!userController.move(this, message))
          this.bad('position rejected (not in a world, not finite or out of bounds)');
        return undefined;
      case 'TeleportRequest':
        return this.guard(worlds.teleport(this, message.target).then(() => {}));
      case 'Signal':
        if (message.value === SignalType.LeaveWorld) return this.guard(worlds.leave(this.user.id));
        return undefined;
      case 'LockObject':
        worlds.lock(this, message.id);
        return undefined;
      case 'UnlockObject':
        worlds.unlock(this, message.id);
        return undefined;
      case 'ObjectTransform':
        // Not awaited by later messages: the world store already orders writes per world, and a drag
        // must not hold up the user's own movement behind a LevelDB write.
        void this.guard(
          worlds.moveObject(this, message.id, message.transform).then((moved) => {
            if (!moved) this.bad('object transform refused (no lock or invalid transform)', undefined, false);
          }),
        );
        return undefined;
      case 'HighFive':
        userController.highFive(this, message);
        return undefined;
      case 'UserStakedToOdyssey': {
        // Validated by the stake controller (the original crashed on hashes or wallets under 2 chars).
        this.log.info(
          { tx: message.transactionHash, objectId: message.objectId },
          'stake reported by client',
        );
        const stakes = this.c.stakes;
        if (!stakes) return undefined;
        const report = {
          transactionId: message.transactionHash,
          odysseyId: message.objectId,
          wallet: message.wallet,
          amount: message.amount,
          comment: message.comment,
          kind: message.kind,
        };
        void stakes.report(this.user, report).then(
          () => {},
          (error: Error) => this.bad(`stake report refused: ${error.message}`, undefined, false),
        );
        return undefined;
      }
      default:
        this.bad(`unexpected message ${message.type}`);
        return undefined;
    }
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
    if (!this.userRecord) return;
    this.c.unbind(this);
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/**
 * The session side of odyssey-node's PosBus extension (docs/posbus.md "Extension"): what a client asked
 * for in its SessionRequest and what it was granted — compact positions, a bandwidth budget, resume
 * after a drop — and the state each needs (the position stream, the replay log, the resume token, the
 * grace timer). Classic sessions have none of this.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { RawData } from 'ws';
import {
  decodeSessionRequest,
  EXT_TYPE_IDS,
  encodeSessionGrant,
  Feature,
  frameTypeId,
  PosbusDecodeError,
  ResumeOutcome,
  type SessionRequest,
  type Vec3,
} from '../../protocol/posbus/index.ts';
import type { NodeConfig } from '../config.ts';
import { PositionStream } from './position-stream.ts';
import { ReplayLog } from './replay-log.ts';

export type ExtensionLimits = Pick<
  NodeConfig,
  'resumeGraceMs' | 'resumeReplayBytes' | 'clientBudgetBytesPerSecond' | 'positionBatch'
>;

/** Why a SessionRequest was refused; the session closes the socket with this message. */
export class SessionRequestError extends Error {}

/** Reads the SessionRequest that follows an extended HandShake; throws SessionRequestError. */
export async function readSessionRequest(
  next: () => Promise<[RawData, boolean]>,
  timeoutMs: number,
): Promise<SessionRequest> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SessionRequestError('no SessionRequest in time')), timeoutMs);
  });
  try {
    const [data, isBinary] = await Promise.race([next(), timeout]);
    const frame = Array.isArray(data) ? Buffer.concat(data) : new Uint8Array(data as ArrayBuffer);
    if (!isBinary || frameTypeId(frame) !== EXT_TYPE_IDS.SessionRequest)
      throw new SessionRequestError('handshake_version 2 must be followed by a SessionRequest frame');
    try {
      return decodeSessionRequest(frame);
    } catch (e) {
      if (e instanceof PosbusDecodeError)
        throw new SessionRequestError(`malformed SessionRequest: ${e.message}`);
      throw e;
    }
  } finally {
    clearTimeout(timer);
  }
}

export class Extension {
  private readonly limits: ExtensionLimits;
  private readonly userId: string;
  private readonly selfPosition: () => Vec3 | undefined;
  /** Features in force for the session. */
  readonly features: number;
  private readonly budget: number;
  /** Reliable frames kept for a resume (with resume granted). */
  readonly replay: ReplayLog | undefined;
  /** This connection's position stream (compact or budgeted); undefined = classic frames as they are. */
  positions: PositionStream | undefined;
  /** True between a drop and a resume (or the end of the grace period). */
  dropped = false;
  private token = '';
  private grace: NodeJS.Timeout | undefined;
  /** The client negotiated the extension (it gets a SessionGrant); false for a classic client under a budget. */
  readonly extended: boolean;

  constructor(
    request: SessionRequest,
    limits: ExtensionLimits,
    userId: string,
    selfPosition: () => Vec3 | undefined,
    extended = true,
  ) {
    this.limits = limits;
    this.userId = userId;
    this.extended = extended;
    this.selfPosition = selfPosition;
    let features = request.features & Feature.CompactPositions;
    if (request.features & Feature.Resume && limits.resumeGraceMs > 0) features |= Feature.Resume;
    this.features = features;
    const server = limits.clientBudgetBytesPerSecond;
    const client = request.maxBytesPerSecond;
    this.budget = server && client ? Math.min(server, client) : server || client;
    if (features & Feature.Resume) this.replay = new ReplayLog(limits.resumeReplayBytes);
    this.positions = this.positionStream();
  }

  /** A dropped connection may wait for a resume. */
  get canPark(): boolean {
    return this.replay !== undefined;
  }

  /** The grant of a new session. */
  grantFresh(): Uint8Array {
    return this.grant(ResumeOutcome.Fresh, 0);
  }

  /** True when `token` is this session's current resume token. */
  matches(token: string): boolean {
    if (!this.replay || !this.token) return false;
    // Lengths in bytes: a client's token of the same length in characters may be longer in UTF-8,
    // and timingSafeEqual throws on buffers of different lengths.
    const given = Buffer.from(token);
    const expected = Buffer.from(this.token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * A resume over a new connection: the grant to send, then either the frames the client missed or
   * (undefined) a snapshot. The position stream starts over, as the client's decoder does.
   */
  resumed(request: SessionRequest): { grant: Uint8Array; replay: Uint8Array[] | undefined } {
    clearTimeout(this.grace);
    this.dropped = false;
    this.positions = this.positionStream();
    const log = this.replay as ReplayLog;
    const replay = log.since(request.receivedFrames);
    const grant = replay
      ? this.grant(ResumeOutcome.Replayed, request.receivedFrames)
      : this.grant(ResumeOutcome.Snapshot, log.sent);
    return { grant, replay };
  }

  /** The connection dropped: the session waits `resumeGraceMs` for a resume, then `expire` runs. */
  park(expire: () => void): void {
    this.dropped = true;
    this.positions = undefined;
    clearTimeout(this.grace);
    this.grace = setTimeout(expire, this.limits.resumeGraceMs);
  }

  stop(): void {
    clearTimeout(this.grace);
    this.dropped = false;
  }

  private grant(outcome: ResumeOutcome, sentFrames: number): Uint8Array {
    // A fresh token per connection: a token seen on a dropped connection cannot be used twice.
    this.token = this.replay ? randomBytes(18).toString('base64url') : '';
    return encodeSessionGrant({
      features: this.features,
      resumeToken: this.token,
      graceMs: this.replay ? this.limits.resumeGraceMs : 0,
      outcome,
      sentFrames,
    });
  }

  private positionStream(): PositionStream | undefined {
    const compact = (this.features & Feature.CompactPositions) !== 0;
    if (!compact && this.budget <= 0) return undefined;
    return new PositionStream({
      compact,
      budget: this.budget,
      selfId: this.userId,
      selfPosition: this.selfPosition,
      maxUsersPerFrame: this.limits.positionBatch,
    });
  }
}

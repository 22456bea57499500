/**
 * What a PosBus session (session.ts) is given: the node's components it calls, the limits it enforces,
 * and the refusal a failed handshake ends with.
 */
import type { Logger } from 'pino';
import type { RawData } from 'ws';
import { DomainError } from '../../common/errors.ts';
import type { HandShake, SessionRequest } from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { NodeConfig } from '../config.ts';
import type { UserStore } from '../user/user-store.ts';
import type { UserController } from '../world/user-controller.ts';
import type { WorldController } from '../world/world-controller.ts';
import { CloseCode } from './close-codes.ts';
import type { PosbusTraffic } from './traffic.ts';

export type SessionLimits = Pick<
  NodeConfig,
  | 'maxFrameBytes'
  | 'maxHandshakeBytes'
  | 'handshakeTimeoutMs'
  | 'messagesPerSecond'
  | 'messageBurst'
  | 'teleportsPerMinute'
  | 'maxBadFrames'
  | 'positionBacklogBytes'
  | 'maxQueuedBytes'
  | 'pingIntervalMs'
  | 'resumeGraceMs'
  | 'resumeReplayBytes'
  | 'clientBudgetBytesPerSecond'
  | 'positionBatch'
>;

/** The services a session's messages are handled with (dispatch.ts as well as the session itself). */
export interface SessionServices {
  tokens: TokenService;
  users: UserStore;
  worlds: WorldController;
  userController: UserController;
  /** Where `UserStakedToOdyssey` reports go; without it they are only logged. */
  stakes?: StakeReporter;
  logger: Logger;
  /** Frame counters for /metrics (node/posbus/traffic.ts). */
  traffic?: PosbusTraffic;
}

/**
 * The server's registry of sessions, over the session type it keeps (session.ts names it), so that this
 * file and dispatch.ts need not import session.ts.
 */
export interface SessionRegistry<S> {
  /** Binds the session to its user once the handshake passes; replaces an older session of that user. */
  bind(session: S): void;
  /** Called once when the session ends (or, without a user, when its socket went to another session). */
  unbind(session: S): void;
  /** The live or dropped session a resume request names, when its token matches; undefined otherwise. */
  resumable(session: S, token: string): S | undefined;
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

export class HandshakeError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** What a classic client (HandShake v1) is taken to ask for: nothing. */
export const CLASSIC_REQUEST: SessionRequest = {
  features: 0,
  resumeToken: '',
  receivedFrames: 0,
  maxBytesPerSecond: 0,
};

/** The user a HandShake's token names; a HandshakeError when the token is bad or not the user's. */
export async function authenticate(
  c: Pick<SessionServices, 'tokens' | 'users'>,
  message: HandShake,
): Promise<UserRecord> {
  let sub: string;
  try {
    sub = (await c.tokens.verify(message.token)).sub;
  } catch (e) {
    throw new HandshakeError(CloseCode.Policy, e instanceof DomainError ? e.message : 'invalid token');
  }
  if (sub !== message.userId) throw new HandshakeError(CloseCode.Policy, 'token does not belong to user_id');
  const user = await c.users.get(sub);
  if (!user) throw new HandshakeError(CloseCode.Policy, 'unknown user');
  return user;
}

/** A frame's bytes, whatever form ws delivered it in. */
export function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/**
 * The first frames of a PosBus connection, verified: the HandShake (binary, within
 * --max-handshake-bytes, decodable, a HandShake, its token the user's) and, for our extended handshake,
 * the SessionRequest behind it. What a verified handshake leads to (bind, resume, the grant) is
 * session.ts's; a frame that fails here is a HandshakeError (or a SessionRequestError) the session closes on.
 */
import {
  decode,
  EXTENDED_HANDSHAKE_VERSION,
  type Message,
  type SessionRequest,
} from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import { CloseCode } from './close-codes.ts';
import { readSessionRequest } from './extension.ts';
import {
  authenticate,
  HandshakeError,
  type SessionLimits,
  type SessionServices,
  toBytes,
} from './session-components.ts';
import type { EarlyFrame } from './session-resume.ts';

export interface VerifiedHandshake {
  user: UserRecord;
  sessionId: string;
  /** The extension's request, when the client asked for it (handshake version 2); undefined for a classic one. */
  request: SessionRequest | undefined;
}

/** Verifies `first` and, for an extended handshake, reads the SessionRequest with `next`. */
export async function verifyHandshake(
  c: Pick<SessionServices, 'tokens' | 'users' | 'traffic'>,
  limits: Pick<SessionLimits, 'maxHandshakeBytes' | 'handshakeTimeoutMs'>,
  [data, isBinary]: EarlyFrame,
  next: () => Promise<EarlyFrame>,
): Promise<VerifiedHandshake> {
  const frame = toBytes(data);
  c.traffic?.received(frame);
  if (!isBinary)
    throw new HandshakeError(CloseCode.Policy, 'the first message must be a binary HandShake frame');
  if (frame.length > limits.maxHandshakeBytes)
    throw new HandshakeError(CloseCode.TooBig, 'handshake frame too large');
  let message: Message;
  try {
    message = decode(frame);
  } catch (e) {
    throw new HandshakeError(CloseCode.Policy, `malformed handshake: ${(e as Error).message}`);
  }
  if (message.type !== 'HandShake')
    throw new HandshakeError(CloseCode.Policy, `expected HandShake, got ${message.type}`);
  const user = await authenticate(c, message);
  if (message.handshakeVersion !== EXTENDED_HANDSHAKE_VERSION)
    return { user, sessionId: message.sessionId, request: undefined };
  const request = await readSessionRequest(async () => {
    const frame = await next();
    c.traffic?.received(toBytes(frame[0]));
    return frame;
  }, limits.handshakeTimeoutMs);
  return { user, sessionId: message.sessionId, request };
}

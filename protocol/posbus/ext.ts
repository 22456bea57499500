/**
 * odyssey-node's PosBus extension (docs/posbus.md "Extension"): session options negotiated in the
 * handshake. A client opts in with `HandShake.handshakeVersion = 2` and sends `SessionRequest` as its
 * second frame; the server answers with `SessionGrant` before anything else. A client that sends
 * handshake_version 1 (every original client) never sees these frames. Pure: no I/O.
 */
import { PosbusDecodeError } from './errors.ts';
import { MusReader } from './reader.ts';
import { MusWriter } from './writer.ts';

/** handshake_version that announces a SessionRequest as the next frame. */
export const EXTENDED_HANDSHAKE_VERSION = 2;

/** Type ids of the extension frames; chosen outside the original's table (SPEC §5). */
export const EXT_TYPE_IDS = {
  SessionRequest: 0x0d5e5501,
  SessionGrant: 0x0d5e5502,
  CompactTransforms: 0x0d5e5503,
} as const;

/** Feature bits of SessionRequest / SessionGrant. */
export const Feature = {
  /** Positions as CompactTransforms frames instead of UsersTransformList (compact.ts). */
  CompactPositions: 1,
  /** A dropped connection may be resumed within the grace period. */
  Resume: 2,
} as const;
const KNOWN_FEATURES = Feature.CompactPositions | Feature.Resume;

/** Longest resume token either side accepts. */
export const MAX_RESUME_TOKEN = 64;

export interface SessionRequest {
  /** Wanted features (Feature bits); unknown bits are ignored by the server. */
  features: number;
  /** The token of the session to resume ('' = a new session). */
  resumeToken: string;
  /** Reliable frames received on the session being resumed (ignored without a token). */
  receivedFrames: number;
  /** The client's own bandwidth cap for position frames in bytes/s; 0 = none. */
  maxBytesPerSecond: number;
}

/** What the server did with a resume request. */
export const ResumeOutcome = {
  /** A new session: the client enters a world as usual (TeleportRequest). */
  Fresh: 0,
  /** The old session goes on: the reliable frames it missed follow, then the live stream. */
  Replayed: 1,
  /** The old session goes on but too much was missed: the world's entry stream (SetWorld…) follows. */
  Snapshot: 2,
} as const;
export type ResumeOutcome = (typeof ResumeOutcome)[keyof typeof ResumeOutcome];

export interface SessionGrant {
  /** Features in force for this connection (a subset of the request's). */
  features: number;
  /** Present this to resume the session after a drop; '' when resume is not granted. */
  resumeToken: string;
  /** How long after a drop the session is kept for a resume. */
  graceMs: number;
  outcome: ResumeOutcome;
  /**
   * Reliable frames (every frame but positions and this grant) the server counts as sent before the
   * frames that follow this grant; the client sets its own count to it (0 for a fresh session).
   */
  sentFrames: number;
}

function frame(typeId: number, body: (w: MusWriter) => void): Uint8Array {
  const w = new MusWriter(128);
  w.uint32le(typeId);
  body(w);
  w.uint32le(~typeId >>> 0);
  return w.take();
}

/** The body reader of an extension frame of `typeId`; PosbusDecodeError if it is another frame. */
function body(bytes: Uint8Array, typeId: number): MusReader {
  if (bytes.length < 8) throw new PosbusDecodeError('frame-too-short', 0, `${bytes.length} bytes`);
  const r = new MusReader(bytes, 0, bytes.length);
  const head = r.raw(4);
  const id = (head[0] | (head[1] << 8) | (head[2] << 16) | (head[3] << 24)) >>> 0;
  if (id !== typeId) throw new PosbusDecodeError('unknown-type', 0, `0x${id.toString(16)}`);
  const t = bytes.length - 4;
  const trailer = (bytes[t] | (bytes[t + 1] << 8) | (bytes[t + 2] << 16) | (bytes[t + 3] << 24)) >>> 0;
  if (trailer !== ~typeId >>> 0) throw new PosbusDecodeError('trailer-mismatch', t);
  return new MusReader(bytes, 4, t);
}

function done(r: MusReader): void {
  if (r.pos !== r.end) throw new PosbusDecodeError('trailing-bytes', r.pos, `${r.end - r.pos} bytes`);
}

function token(r: MusReader): string {
  const at = r.pos;
  const s = r.string();
  if (s.length > MAX_RESUME_TOKEN) throw new PosbusDecodeError('bad-record', at, 'resume token too long');
  return s;
}

/** True for the frames that carry positions (UsersTransformList, CompactTransforms): not counted, never replayed. */
export function isPositionFrame(bytes: Uint8Array): boolean {
  const id = typeIdOf(bytes);
  return id === USERS_TRANSFORM_LIST || id === EXT_TYPE_IDS.CompactTransforms;
}
const USERS_TRANSFORM_LIST = 0x285954b8;

/** The 4-byte type id at the start of a frame, or undefined when it is shorter. */
export function typeIdOf(bytes: Uint8Array): number | undefined {
  if (bytes.length < 4) return undefined;
  return (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
}

export function encodeSessionRequest(m: SessionRequest): Uint8Array {
  return frame(EXT_TYPE_IDS.SessionRequest, (w) => {
    w.u32(m.features, 'features');
    w.string(m.resumeToken);
    w.int(m.receivedFrames, 'receivedFrames');
    w.u32(m.maxBytesPerSecond, 'maxBytesPerSecond');
  });
}

export function decodeSessionRequest(bytes: Uint8Array): SessionRequest {
  const r = body(bytes, EXT_TYPE_IDS.SessionRequest);
  const features = r.uvarint32() & KNOWN_FEATURES;
  const resumeToken = token(r);
  const at = r.pos;
  const receivedFrames = r.int();
  if (receivedFrames < 0) throw new PosbusDecodeError('bad-record', at, 'negative frame count');
  const maxBytesPerSecond = r.uvarint32();
  done(r);
  return { features, resumeToken, receivedFrames, maxBytesPerSecond };
}

export function encodeSessionGrant(m: SessionGrant): Uint8Array {
  return frame(EXT_TYPE_IDS.SessionGrant, (w) => {
    w.u32(m.features, 'features');
    w.string(m.resumeToken);
    w.u32(m.graceMs, 'graceMs');
    w.u32(m.outcome, 'outcome');
    w.int(m.sentFrames, 'sentFrames');
  });
}

export function decodeSessionGrant(bytes: Uint8Array): SessionGrant {
  const r = body(bytes, EXT_TYPE_IDS.SessionGrant);
  const features = r.uvarint32();
  const resumeToken = token(r);
  const graceMs = r.uvarint32();
  const at = r.pos;
  const outcome = r.uvarint32();
  if (outcome > 2) throw new PosbusDecodeError('bad-record', at, `resume outcome ${outcome}`);
  const sentAt = r.pos;
  const sentFrames = r.int();
  if (sentFrames < 0) throw new PosbusDecodeError('bad-record', sentAt, 'negative frame count');
  done(r);
  return { features, resumeToken, graceMs, outcome: outcome as ResumeOutcome, sentFrames };
}

/**
 * The compact position stream of odyssey-node's PosBus extension (docs/posbus.md "Compact positions"):
 * one `CompactTransforms` frame per tick instead of a `UsersTransformList`. Users are named by
 * connection-scoped short ids (introduced once by a mapping record), positions and rotations are
 * quantised to 1/1000 of a unit, and each record carries only the components that changed since the
 * previous record of that user, as deltas. Both ends keep per-connection state; frames arrive in order
 * over one WebSocket, so the sender's state and the receiver's stay equal. Pure: no I/O.
 *
 * Body: records until the end of the body.
 *   mapping:  uvarint 0, uvarint shortId (≥ 1), UMID (16 bytes)
 *   update:   uvarint shortId (≥ 1), mask byte (bits 0–5: px, py, pz, rx, ry, rz present; 6–7 zero),
 *             then per present component a zigzag varint delta of its quantised value.
 */
import { PosbusDecodeError } from './errors.ts';
import { EXT_TYPE_IDS } from './ext.ts';
import { MusReader } from './reader.ts';
import type { TransformNoScale, UserTransform } from './types.ts';
import { MusWriter } from './writer.ts';

/** Quantisation steps: 1 mm for positions (in metres), 0.001 for rotation components (0.057° in radians). */
export const POSITION_STEP = 0.001;
export const ROTATION_STEP = 0.001;
const SCALE = 1000;
/** Quantised values are clamped to ±2^46 (±7·10^10 units): deltas stay exact JavaScript integers. */
const LIMIT = 2 ** 46;
/** Most short ids one connection may introduce (a hostile sender cannot grow the receiver's table past it). */
export const MAX_SHORT_IDS = 1 << 20;

const TYPE_ID = EXT_TYPE_IDS.CompactTransforms;
const TRAILER = ~TYPE_ID >>> 0;

export function quantise(v: number): number {
  if (Number.isNaN(v)) return 0;
  const q = Math.round(v * SCALE);
  return q > LIMIT ? LIMIT : q < -LIMIT ? -LIMIT : q + 0; // + 0 turns -0 into 0
}

/** A pose as six numbers: position x, y, z, rotation x, y, z (what a UsersTransformList entry carries). */
export type FlatPose = ArrayLike<number>;

function quantisePose(pose: FlatPose, out: number[], at = 0): void {
  for (let i = 0; i < 6; i++) out[i] = quantise(pose[at + i]);
}

/** The six numbers of a transform, in wire order. */
export function flatPose(t: TransformNoScale, out: number[] = [0, 0, 0, 0, 0, 0]): number[] {
  out[0] = t.position.x;
  out[1] = t.position.y;
  out[2] = t.position.z;
  out[3] = t.rotation.x;
  out[4] = t.rotation.y;
  out[5] = t.rotation.z;
  return out;
}

/**
 * Walks a UsersTransformList frame (from the codec or the tick) without building objects: `visit` gets
 * each entry's id and its pose in a reused array. Throws PosbusDecodeError on a malformed frame.
 */
export function walkUsersTransformList(frame: Uint8Array, visit: (id: string, pose: FlatPose) => void): void {
  const n = frame.length;
  if (n < 8) throw new PosbusDecodeError('frame-too-short', 0, `${n} bytes`);
  if (readU32(frame, 0) !== USERS_TRANSFORM_LIST) throw new PosbusDecodeError('unknown-type', 0);
  if (readU32(frame, n - 4) !== ~USERS_TRANSFORM_LIST >>> 0)
    throw new PosbusDecodeError('trailer-mismatch', n - 4);
  const r = new MusReader(frame, 4, n - 4);
  const count = r.length(22);
  const pose = walkPose;
  for (let i = 0; i < count; i++) {
    const id = r.umid();
    for (let k = 0; k < 6; k++) pose[k] = r.f32();
    visit(id, pose);
  }
  if (r.pos !== r.end) throw new PosbusDecodeError('trailing-bytes', r.pos);
}
const USERS_TRANSFORM_LIST = 0x285954b8;
const walkPose = [0, 0, 0, 0, 0, 0];

function uvarintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function zigzagSize(v: number): number {
  return uvarintSize(v >= 0 ? v * 2 : -v * 2 - 1);
}

interface Sent {
  short: number;
  /** The quantised values the receiver holds for this user. */
  q: number[];
}

/** The sending side of one connection. */
export class CompactEncoder {
  private readonly users = new Map<string, Sent>();
  private nextShort = 1;
  private readonly w = new MusWriter(4096);
  private readonly scratch = [0, 0, 0, 0, 0, 0];

  /** Users introduced so far. */
  get known(): number {
    return this.users.size;
  }

  /** Bytes `entry` would add to a frame now (0: nothing changed). Changes nothing. */
  recordSize(entry: UserTransform): number {
    return this.recordSizeOf(entry.id, flatPose(entry.transform));
  }

  /** recordSize of a user id and a flat pose. */
  recordSizeOf(id: string, pose: FlatPose, at = 0): number {
    const sent = this.users.get(id);
    const q = this.scratch;
    quantisePose(pose, q, at);
    let size = 0;
    let mask = 0;
    for (let i = 0; i < 6; i++) {
      const delta = q[i] - (sent ? sent.q[i] : 0);
      if (delta !== 0) {
        mask |= 1 << i;
        size += zigzagSize(delta);
      }
    }
    // A new user gets an update record even when it is at the origin: the receiver learns its pose.
    if (mask === 0 && sent) return 0;
    const short = sent ? sent.short : this.nextShort;
    const mapping = sent ? 0 : 1 + uvarintSize(short) + 16;
    return mapping + uvarintSize(short) + 1 + size;
  }

  /**
   * One frame with the changes of `entries` (later entries of the same user win), recorded as sent:
   * the caller must send it. Undefined when nothing changed.
   */
  encode(entries: Iterable<UserTransform>): Uint8Array | undefined {
    this.begin();
    const pose = [0, 0, 0, 0, 0, 0];
    for (const entry of entries) this.push(entry.id, flatPose(entry.transform, pose));
    return this.finish();
  }

  /** Starts a frame: then `push` each user, then `finish`. */
  begin(): void {
    this.w.reset();
    this.w.uint32le(TYPE_ID);
  }

  /** Adds a user's pose (`pose[at, at + 6)`) to the frame begun (only what changed), recorded as sent. */
  push(id: string, pose: FlatPose, at = 0): void {
    const w = this.w;
    const q = this.scratch;
    let sent = this.users.get(id);
    const isNew = !sent;
    if (!sent) {
      sent = { short: this.nextShort++, q: [0, 0, 0, 0, 0, 0] };
      this.users.set(id, sent);
      w.byte(0);
      w.uvarint32(sent.short);
      w.umid(id, 'id');
    }
    quantisePose(pose, q, at);
    let mask = 0;
    for (let i = 0; i < 6; i++) if (q[i] !== sent.q[i]) mask |= 1 << i;
    if (mask === 0 && !isNew) return;
    w.uvarint32(sent.short);
    w.byte(mask);
    for (let i = 0; i < 6; i++) {
      if (mask & (1 << i)) {
        w.int(q[i] - sent.q[i]);
        sent.q[i] = q[i];
      }
    }
  }

  /** The frame begun, or undefined when nothing was written to it. */
  finish(): Uint8Array | undefined {
    const w = this.w;
    if (w.pos === 4) return undefined;
    w.uint32le(TRAILER);
    return w.take();
  }
}

interface Held {
  id: string;
  q: number[];
}

/** The receiving side of one connection: turns CompactTransforms frames back into user transforms. */
export class CompactDecoder {
  private readonly ids = new Map<number, Held>();

  /**
   * The users a frame updates, each with its whole current transform, in frame order (a user updated
   * twice appears twice). A malformed frame throws PosbusDecodeError and leaves the state as it was.
   */
  decode(frame: Uint8Array): UserTransform[] {
    const n = frame.length;
    if (n < 8) throw new PosbusDecodeError('frame-too-short', 0, `${n} bytes`);
    if (readU32(frame, 0) !== TYPE_ID) throw new PosbusDecodeError('unknown-type', 0);
    if (readU32(frame, n - 4) !== TRAILER) throw new PosbusDecodeError('trailer-mismatch', n - 4);
    const r: MusReader = new MusReader(frame, 4, n - 4);
    // Changes are staged and committed only once the whole frame has decoded.
    const staged = new Map<number, Held>();
    const out: UserTransform[] = [];
    while (r.pos < r.end) {
      const at = r.pos;
      const key = r.uvarint32();
      if (key === 0) {
        const short = r.uvarint32();
        const id = r.umid();
        if (short === 0 || this.ids.has(short) || staged.has(short))
          r.fail('bad-record', `short id ${short} already mapped or zero`, at);
        if (this.ids.size + staged.size >= MAX_SHORT_IDS) r.fail('bad-record', 'too many short ids', at);
        staged.set(short, { id, q: [0, 0, 0, 0, 0, 0] });
        continue;
      }
      let held = staged.get(key);
      if (!held) {
        const known = this.ids.get(key);
        if (!known) r.fail('bad-record', `unmapped short id ${key}`, at);
        held = { id: known.id, q: known.q.slice() };
        staged.set(key, held);
      }
      const maskAt = r.pos;
      const mask = r.byte();
      if (mask > 0x3f) r.fail('bad-record', `mask ${mask}`, maskAt);
      for (let i = 0; i < 6; i++) {
        if (!(mask & (1 << i))) continue;
        const deltaAt = r.pos;
        const v = held.q[i] + r.int();
        if (v > LIMIT || v < -LIMIT) r.fail('bad-record', 'value out of range', deltaAt);
        held.q[i] = v;
      }
      const q = held.q;
      out.push({
        id: held.id,
        transform: {
          position: { x: q[0] / SCALE, y: q[1] / SCALE, z: q[2] / SCALE },
          rotation: { x: q[3] / SCALE, y: q[4] / SCALE, z: q[5] / SCALE },
        },
      });
    }
    for (const [short, held] of staged) this.ids.set(short, held);
    return out;
  }
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** True when `frame` is a CompactTransforms frame (by its type id). */
export function isCompactTransforms(frame: Uint8Array): boolean {
  return frame.length >= 4 && readU32(frame, 0) === TYPE_ID;
}

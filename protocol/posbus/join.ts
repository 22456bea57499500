/**
 * Joining already-encoded UsersTransformList frames: the tick encodes each grid cell once, and a member
 * gets the cells around it as one frame instead of up to nine (one WebSocket write per member per tick,
 * which is what the node's CPU goes to). Bodies are copied, never re-encoded.
 */
import { MusReader } from './reader.ts';
import { MusWriter } from './writer.ts';

const TYPE_ID = 0x285954b8;
const USER_TRANSFORM_MIN = 22;

interface Part {
  frame: Uint8Array;
  count: number;
  /** Offset of the first UserTransform. */
  start: number;
}

function part(frame: Uint8Array): Part {
  const r = new MusReader(frame, 4, frame.length - 4);
  const count = r.length(USER_TRANSFORM_MIN);
  return { frame, count, start: r.pos };
}

/**
 * Frames holding all users of `frames` (UsersTransformList frames from `encode`), in order, at most
 * `maxUsers` per frame. A single input comes back as it is.
 */
export function joinUsersTransformLists(frames: readonly Uint8Array[], maxUsers: number): Uint8Array[] {
  if (frames.length <= 1) return [...frames];
  const out: Uint8Array[] = [];
  let group: Part[] = [];
  let users = 0;
  const flush = () => {
    if (group.length === 1) out.push(group[0].frame);
    else if (group.length > 1) out.push(concat(group, users));
    group = [];
    users = 0;
  };
  for (const frame of frames) {
    const p = part(frame);
    if (users + p.count > maxUsers) flush();
    group.push(p);
    users += p.count;
  }
  flush();
  return out;
}

function concat(parts: Part[], users: number): Uint8Array {
  let bodies = 0;
  for (const p of parts) bodies += p.frame.length - 4 - p.start;
  const w = new MusWriter(4 + 10 + bodies + 4);
  w.uint32le(TYPE_ID);
  w.int(users);
  for (const p of parts) w.raw(p.frame.subarray(p.start, p.frame.length - 4));
  w.uint32le(~TYPE_ID >>> 0);
  return w.buf.subarray(0, w.pos);
}

/**
 * What one connection's position frames become on the way out, for clients that negotiated the compact
 * stream or that have a bandwidth budget (docs/posbus.md "Extension"). Everyone else gets the tick's
 * frames untouched. Runs inside the tick, synchronously, and never holds a frame for later: a user that
 * does not fit the budget now stays pending with its latest pose, and the next tick weighs it again.
 */
import {
  CompactEncoder,
  decode,
  type FlatPose,
  frameTypeId,
  TYPE_IDS,
  type Vec3,
  walkUsersTransformList,
} from '../../protocol/posbus/index.ts';
import { MusWriter } from '../../protocol/posbus/writer.ts';

export interface PositionStreamOptions {
  /** CompactTransforms instead of UsersTransformList. */
  compact: boolean;
  /** Bytes per second for this connection; 0 = no budget. */
  budget: number;
  /** The connection's own user: its echo is not worth budget. */
  selfId: string;
  /** Where the connection's user is now (nearest first is measured from there). */
  selfPosition(): Vec3 | undefined;
  /** Users per classic frame (the client's read limit). */
  maxUsersPerFrame: number;
}

/** The latest pose of a user this connection sees; kept (and reused) while the user is in view. */
interface Slot {
  id: string;
  pose: Float64Array;
  /** The pose changed since it was last sent. */
  dirty: boolean;
  /** Ticks this update has been passed over: older updates climb the order, so far users still move. */
  waited: number;
  score: number;
}

/** How much a burst may exceed the steady rate: a quarter of a second's budget. */
const BURST_SECONDS = 0.25;
/** A WebSocket binary frame from the server costs 2–10 header bytes besides its payload. */
const wsHeader = (n: number) => (n < 126 ? 2 : n < 65536 ? 4 : 10);

export class PositionStream {
  private readonly options: PositionStreamOptions;
  private readonly compact: CompactEncoder | undefined;
  private readonly slots = new Map<string, Slot>();
  private readonly order: Slot[] = [];
  private tokens: number;
  private readonly capacity: number;
  private last: number;

  constructor(options: PositionStreamOptions, now = performance.now()) {
    this.options = options;
    this.compact = options.compact ? new CompactEncoder() : undefined;
    this.capacity = Math.max(options.budget * BURST_SECONDS, 256);
    this.tokens = this.capacity;
    this.last = now;
  }

  /** The frame to send for a tick's UsersTransformList frame; undefined = nothing to send this tick. */
  next(frame: Uint8Array, now = performance.now()): Uint8Array | undefined {
    if (frameTypeId(frame) !== TYPE_IDS.UsersTransformList) return frame;
    if (this.options.budget <= 0) {
      if (!this.compact) return frame;
      const parsed = parse(frame);
      const encoder = this.compact;
      encoder.begin();
      for (let i = 0; i < parsed.count; i++) encoder.push(parsed.ids[i], parsed.poses, i * 6);
      return encoder.finish();
    }
    const parsed = parse(frame);
    for (let i = 0; i < parsed.count; i++) this.holdPose(parsed.ids[i], parsed.poses, i * 6);
    return this.withinBudget(now);
  }

  /**
   * A reliable frame went out: it uses budget too, and users it removes are forgotten — all of them
   * when the client enters a world (SetWorld): nobody tells it that the users of the world it left are
   * gone, and their waiting poses must not follow it into the new world.
   */
  onReliable(frame: Uint8Array): void {
    if (this.options.budget <= 0) return;
    this.tokens -= frame.length + wsHeader(frame.length);
    const typeId = frameTypeId(frame);
    if (typeId === TYPE_IDS.SetWorld) {
      this.slots.clear();
      return;
    }
    if (typeId !== TYPE_IDS.RemoveUsers) return;
    const message = decode(frame);
    if (message.type === 'RemoveUsers') for (const id of message.users) this.slots.delete(id);
  }

  private holdPose(id: string, pose: FlatPose, at: number): void {
    if (id === this.options.selfId) return;
    let slot = this.slots.get(id);
    if (!slot) {
      slot = { id, pose: new Float64Array(6), dirty: false, waited: 0, score: 0 };
      this.slots.set(id, slot);
    }
    for (let i = 0; i < 6; i++) slot.pose[i] = pose[at + i];
    slot.dirty = true;
  }

  private withinBudget(now: number): Uint8Array | undefined {
    const { maxUsersPerFrame } = this.options;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.options.budget) / 1000);
    this.last = now;
    // Frame header, trailer, count and the WebSocket header: what a frame costs before its first user.
    let room = this.tokens - 4 - 4 - 3 - 4;
    const order = this.order;
    order.length = 0;
    const self = this.options.selfPosition();
    for (const slot of this.slots.values()) {
      if (!slot.dirty) continue;
      slot.score = distance(self, slot.pose) / (1 + slot.waited);
      order.push(slot);
    }
    if (order.length === 0) return undefined;
    if (room > 0) order.sort(byScore);
    let chosen = 0;
    for (const slot of order) {
      if (room <= 0) break;
      const size = this.compact ? this.compact.recordSizeOf(slot.id, slot.pose) : classicSize(slot.pose);
      if (size > room || chosen === maxUsersPerFrame) break;
      room -= size;
      slot.dirty = false;
      slot.waited = 0;
      order[chosen++] = slot;
    }
    for (let i = chosen; i < order.length; i++) order[i].waited++;
    if (chosen === 0) return undefined;
    const out = this.compact ? this.compactFrame(order, chosen) : classicFrame(order, chosen);
    if (out) this.tokens -= out.length + wsHeader(out.length);
    return out;
  }

  private compactFrame(slots: Slot[], n: number): Uint8Array | undefined {
    const encoder = this.compact as CompactEncoder;
    encoder.begin();
    for (let i = 0; i < n; i++) encoder.push(slots[i].id, slots[i].pose);
    return encoder.finish();
  }
}

const byScore = (a: Slot, b: Slot) => a.score - b.score;

/**
 * The last frame walked, kept: the tick hands the same frame object to every member of a cell (and to
 * everyone without interest management), so it is read once, not once per member, and the ids are the
 * same strings every time (their hashes computed once).
 */
const lastParsed = {
  frame: undefined as Uint8Array | undefined,
  count: 0,
  ids: [] as string[],
  poses: new Float64Array(6 * 512),
};
function parse(frame: Uint8Array): typeof lastParsed {
  const p = lastParsed;
  if (p.frame === frame) return p;
  p.frame = undefined;
  p.count = 0;
  walkUsersTransformList(frame, (id, pose) => {
    if (p.poses.length < (p.count + 1) * 6) {
      const grown = new Float64Array(p.poses.length * 2);
      grown.set(p.poses);
      p.poses = grown;
    }
    p.ids[p.count] = id;
    for (let k = 0; k < 6; k++) p.poses[p.count * 6 + k] = pose[k];
    p.count++;
  });
  p.frame = frame;
  return p;
}

// One writer for the process: frames are built synchronously, inside the tick.
const writer = new MusWriter(16 * 1024);
const USERS_TRANSFORM_LIST = TYPE_IDS.UsersTransformList;

/** A UsersTransformList of the first `n` slots, as the codec writes it (SPEC §5). */
function classicFrame(slots: Slot[], n: number): Uint8Array {
  const w = writer;
  w.reset();
  w.uint32le(USERS_TRANSFORM_LIST);
  w.int(n);
  for (let i = 0; i < n; i++) {
    w.umid(slots[i].id, 'id');
    const pose = slots[i].pose;
    for (let k = 0; k < 6; k++) w.f32(pose[k]);
  }
  w.uint32le(~USERS_TRANSFORM_LIST >>> 0);
  return w.take();
}

function distance(from: Vec3 | undefined, to: FlatPose): number {
  if (!from) return 0;
  const dx = to[0] - from.x;
  const dy = to[1] - from.y;
  const dz = to[2] - from.z;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

const scratch = new DataView(new ArrayBuffer(4));

/** Bytes of one UserTransform in a UsersTransformList: the UMID and six f32 varints (SPEC §3). */
function classicSize(pose: FlatPose): number {
  let size = 16;
  for (let k = 0; k < 6; k++) size += f32Size(pose[k]);
  return size;
}

function f32Size(v: number): number {
  scratch.setFloat32(0, v, false);
  const bits = scratch.getUint32(0, true);
  return bits < 0x80 ? 1 : bits < 0x4000 ? 2 : bits < 0x200000 ? 3 : bits < 0x10000000 ? 4 : 5;
}

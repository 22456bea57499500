/**
 * What one connection's position frames become on the way out, for clients that negotiated the compact
 * stream or that have a bandwidth budget (docs/posbus.md "Extension"). Everyone else gets the tick's
 * frames untouched. Runs inside the tick, synchronously, and never holds a frame for later: a user that
 * does not fit the budget now stays pending with its latest pose, and the next tick weighs it again.
 */
import {
  CompactEncoder,
  decode,
  encode,
  frameTypeId,
  TYPE_IDS,
  type UserTransform,
  type Vec3,
} from '../../protocol/posbus/index.ts';

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

interface Pending {
  entry: UserTransform;
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
  private readonly pending = new Map<string, Pending>();
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
    const message = decode(frame);
    if (message.type !== 'UsersTransformList') return frame;
    if (this.options.budget <= 0) return this.compact ? this.compact.encode(message.value) : frame;
    return this.withinBudget(message.value, now);
  }

  /** A reliable frame went out: it uses budget too, and users it removes have no pending positions. */
  onReliable(frame: Uint8Array): void {
    if (this.options.budget <= 0) return;
    this.tokens -= frame.length + wsHeader(frame.length);
    if (frameTypeId(frame) !== TYPE_IDS.RemoveUsers) return;
    const message = decode(frame);
    if (message.type === 'RemoveUsers') for (const id of message.users) this.pending.delete(id);
  }

  private withinBudget(entries: UserTransform[], now: number): Uint8Array | undefined {
    const { selfId, maxUsersPerFrame } = this.options;
    for (const entry of entries) {
      if (entry.id === selfId) continue;
      const held = this.pending.get(entry.id);
      if (held) held.entry = entry;
      else this.pending.set(entry.id, { entry, waited: 0, score: 0 });
    }
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.options.budget) / 1000);
    this.last = now;
    if (this.pending.size === 0) return undefined;
    const chosen: UserTransform[] = [];
    // Frame header, trailer, count and the WebSocket header: what a frame costs before its first user.
    let room = this.tokens - 4 - 4 - 3 - 4;
    if (room > 0) {
      const self = this.options.selfPosition();
      const order = [...this.pending.values()];
      for (const p of order) p.score = distance(self, p.entry.transform.position) / (1 + p.waited);
      order.sort((a, b) => a.score - b.score);
      for (const p of order) {
        const size = this.compact ? this.compact.recordSize(p.entry) : classicSize(p.entry);
        if (size > room || chosen.length === maxUsersPerFrame) break;
        room -= size;
        this.pending.delete(p.entry.id);
        if (size > 0) chosen.push(p.entry);
      }
    }
    for (const p of this.pending.values()) p.waited++;
    if (chosen.length === 0) return undefined;
    const out = this.compact
      ? this.compact.encode(chosen)
      : encode({ type: 'UsersTransformList', value: chosen });
    if (out) this.tokens -= out.length + wsHeader(out.length);
    return out;
  }
}

function distance(from: Vec3 | undefined, to: Vec3): number {
  if (!from) return 0;
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const dz = to.z - from.z;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

const scratch = new DataView(new ArrayBuffer(4));

/** Bytes of one UserTransform in a UsersTransformList: the UMID and six f32 varints (SPEC §3). */
function classicSize(e: UserTransform): number {
  const { position: p, rotation: r } = e.transform;
  return 16 + f32Size(p.x) + f32Size(p.y) + f32Size(p.z) + f32Size(r.x) + f32Size(r.y) + f32Size(r.z);
}

function f32Size(v: number): number {
  scratch.setFloat32(0, v, false);
  const bits = scratch.getUint32(0, true);
  return bits < 0x80 ? 1 : bits < 0x4000 ? 2 : bits < 0x200000 ? 3 : bits < 0x10000000 ? 4 : 5;
}

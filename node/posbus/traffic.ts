/**
 * PosBus traffic counters for /metrics: frames and bytes in and out by message type, frames dropped for a
 * backlogged client, frames rejected. These run on every frame, so they are plain numbers in preallocated
 * typed arrays indexed through a Map lookup: no allocation per frame. The metrics registry reads them
 * at scrape time (node/metrics/).
 */
import { TYPE_IDS } from '../../protocol/posbus/index.ts';

/** Labels in slot order: every message type of SPEC.md, then `unknown` (bad header, unknown id). */
export const TRAFFIC_TYPES: readonly string[] = [...Object.keys(TYPE_IDS), 'unknown'];
const UNKNOWN = TRAFFIC_TYPES.length - 1;

/*
 * Type ids are 32-bit; numbers that large are heap-allocated in V8, so a lookup by the whole id would
 * allocate on every frame. The slot is found by the id's low 24 bits instead (small integers, never
 * allocated; unique among the known ids, checked here) and confirmed by its top byte.
 */
const slotOfLow24 = new Map<number, number>();
const topByteOfSlot = new Uint8Array(TRAFFIC_TYPES.length);
Object.values(TYPE_IDS).forEach((id, slot) => {
  const low = id & 0xffffff;
  if (slotOfLow24.has(low))
    throw new Error(`two PosBus type ids share their low 24 bits: ${id.toString(16)}`);
  slotOfLow24.set(low, slot);
  topByteOfSlot[slot] = id >>> 24;
});

export class PosbusTraffic {
  readonly framesIn = new Float64Array(TRAFFIC_TYPES.length);
  readonly bytesIn = new Float64Array(TRAFFIC_TYPES.length);
  readonly framesOut = new Float64Array(TRAFFIC_TYPES.length);
  readonly bytesOut = new Float64Array(TRAFFIC_TYPES.length);
  /** Position frames not sent to a client whose socket was backlogged. */
  dropped = 0;
  /** Inbound frames refused: too big, over the rate, text, undecodable, unexpected or refused by a controller. */
  rejected = 0;

  received(frame: Uint8Array): void {
    const slot = slotOf(frame);
    this.framesIn[slot]++;
    this.bytesIn[slot] += frame.length;
  }

  sent(frame: Uint8Array): void {
    const slot = slotOf(frame);
    this.framesOut[slot]++;
    this.bytesOut[slot] += frame.length;
  }
}

/** The frame's message type slot: header id known and trailer its bitwise NOT (SPEC.md §2), else `unknown`. */
export function slotOf(frame: Uint8Array): number {
  const n = frame.length;
  if (n < 8) return UNKNOWN;
  for (let i = 0; i < 4; i++) if ((frame[i] ^ frame[n - 4 + i]) !== 0xff) return UNKNOWN;
  const slot = slotOfLow24.get(frame[0] | (frame[1] << 8) | (frame[2] << 16));
  return slot !== undefined && topByteOfSlot[slot] === frame[3] ? slot : UNKNOWN;
}

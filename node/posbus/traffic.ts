/**
 * PosBus traffic counters for /metrics: frames and bytes in and out by message type, frames dropped for a
 * backlogged client, frames rejected. These run on every frame, so they are plain numbers in preallocated
 * typed arrays indexed through a Map lookup: no allocation per frame. The metrics registry reads them
 * at scrape time (node/metrics/).
 */
import { frameTypeId, TYPE_IDS } from '../../protocol/posbus/index.ts';

/** Labels in slot order: every message type of SPEC.md, then `unknown` (bad header, unknown id). */
export const TRAFFIC_TYPES: readonly string[] = [...Object.keys(TYPE_IDS), 'unknown'];
const UNKNOWN = TRAFFIC_TYPES.length - 1;
const slotOfTypeId = new Map<number, number>(Object.values(TYPE_IDS).map((id, slot) => [id, slot]));

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

function slotOf(frame: Uint8Array): number {
  const id = frameTypeId(frame);
  return id === undefined ? UNKNOWN : (slotOfTypeId.get(id) ?? UNKNOWN);
}

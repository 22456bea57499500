/** The PosBus frame counters of /metrics: each frame lands in its message type's slot, anything else in `unknown`. */
import { describe, expect, it } from 'vitest';
import { PosbusTraffic, slotOf, TRAFFIC_TYPES } from '../../node/posbus/traffic.ts';
import { encode, TYPE_IDS } from '../../protocol/posbus/index.ts';

const slot = (name: string) => TRAFFIC_TYPES.indexOf(name);

describe('PosbusTraffic', () => {
  it('files every message type under its own name', () => {
    // A frame of each type: header and trailer are all the counters read.
    for (const [name, id] of Object.entries(TYPE_IDS)) {
      const frame = new Uint8Array(12);
      const view = new DataView(frame.buffer);
      view.setUint32(0, id, true);
      view.setUint32(8, ~id >>> 0, true);
      expect(TRAFFIC_TYPES[slotOf(frame)], name).toBe(name);
    }
    const move = encode({
      type: 'MyTransform',
      position: { x: 1, y: 2, z: 3 },
      rotation: { x: 0, y: 0, z: 0 },
    });
    const traffic = new PosbusTraffic();
    traffic.sent(move);
    traffic.sent(move);
    traffic.received(move);
    expect(traffic.framesOut[slot('MyTransform')]).toBe(2);
    expect(traffic.bytesOut[slot('MyTransform')]).toBe(2 * move.length);
    expect(traffic.framesIn[slot('MyTransform')]).toBe(1);
  });

  it('files short frames, bad trailers and unknown ids under unknown', () => {
    const move = encode({
      type: 'MyTransform',
      position: { x: 1, y: 2, z: 3 },
      rotation: { x: 0, y: 0, z: 0 },
    });
    const badTrailer = move.slice();
    badTrailer[badTrailer.length - 1] ^= 1;
    const otherTop = move.slice();
    otherTop[3] ^= 0x40;
    otherTop[otherTop.length - 1] ^= 0x40;
    const unknownId = new Uint8Array([1, 2, 3, 4, 0xfe, 0xfd, 0xfc, 0xfb]);
    for (const frame of [new Uint8Array(0), move.subarray(0, 7), badTrailer, otherTop, unknownId])
      expect(TRAFFIC_TYPES[slotOf(frame)]).toBe('unknown');
  });
});

/**
 * The load generator's hand-written MyTransform frames (scripts/load-frames.ts) must be the codec's byte
 * for byte, or the node would measure something other than a client's moves.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../protocol/posbus/index.ts';
import { checkWriter, writeMyTransform } from '../../scripts/load-frames.ts';

describe('load worker MyTransform writer', () => {
  it('writes what encode writes, for any float32 pose, into a reused buffer', () => {
    const out = Buffer.alloc(64, 0xee);
    const f = fc.float({ noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(fc.tuple(f, f, f, f, f, f), ([px, py, pz, rx, ry, rz]) => {
        const length = writeMyTransform(out, px, py, pz, rx, ry, rz);
        const expected = encode({
          type: 'MyTransform',
          position: { x: px, y: py, z: pz },
          rotation: { x: rx, y: ry, z: rz },
        });
        expect(out.subarray(0, length)).toEqual(Buffer.from(expected));
        expect(decode(out.subarray(0, length))).toMatchObject({ type: 'MyTransform' });
      }),
    );
  });

  it('passes its own start-up check', () => {
    expect(() => checkWriter()).not.toThrow();
  });
});

/**
 * The load generator's own PosBus frames, written and read without the codec's objects: a MyTransform
 * written into a reused buffer (checked against the codec at start-up) and the entry count of a list
 * read without decoding it. scripts/load-worker.ts sends and counts with these at 50,000 frames a second.
 */
import { encode, TYPE_IDS } from '../protocol/posbus/index.ts';

/** The element count of a list body at offset 4: a zigzag varint (MUS `int`). */
export function listLength(data: Buffer): number {
  let v = 0;
  let shift = 0;
  for (let pos = 4; pos < data.length && shift < 35; pos++, shift += 7) {
    const b = data[pos];
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  return Math.floor(v / 2);
}

const MY_TRANSFORM = TYPE_IDS.MyTransform;
const f32 = new DataView(new ArrayBuffer(4));

/**
 * A MyTransform frame (SPEC.md: type id, six f32 — each a float32's byte-reversed bits as a varint —,
 * inverted type id) written into `out` without allocating; returns its length. Checked against the
 * codec's `encode` at start-up (see `checkWriter`).
 */
export function writeMyTransform(
  out: Buffer,
  px: number,
  py: number,
  pz: number,
  rx: number,
  ry: number,
  rz: number,
): number {
  out.writeUInt32LE(MY_TRANSFORM, 0);
  let pos = 4;
  pos = writeF32(out, pos, px);
  pos = writeF32(out, pos, py);
  pos = writeF32(out, pos, pz);
  pos = writeF32(out, pos, rx);
  pos = writeF32(out, pos, ry);
  pos = writeF32(out, pos, rz);
  out.writeUInt32LE(~MY_TRANSFORM >>> 0, pos);
  return pos + 4;
}

function writeF32(out: Buffer, pos: number, v: number): number {
  f32.setFloat32(0, v, false);
  let u = f32.getUint32(0, true);
  while (u >= 0x80) {
    out[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  out[pos++] = u;
  return pos;
}

/** The hand-written frame must be the codec's, byte for byte; a worker refuses to start otherwise. */
export function checkWriter(): void {
  const out = Buffer.alloc(64);
  for (const v of [
    [0, 0, 0, 0, 0, 0],
    [1.5, 999, -812.25, 61234.567, -179, 7],
    [Math.PI, 3, 1e6, 0.001, 180, -7],
  ]) {
    const [px, py, pz, rx, ry, rz] = v;
    const length = writeMyTransform(out, px, py, pz, rx, ry, rz);
    const expected = encode({
      type: 'MyTransform',
      position: { x: px, y: py, z: pz },
      rotation: { x: rx, y: ry, z: rz },
    });
    if (!out.subarray(0, length).equals(expected)) throw new Error(`MyTransform writer differs for ${v}`);
  }
}

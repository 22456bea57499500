/**
 * The compact position stream (protocol/posbus/compact.ts) and the session negotiation frames (ext.ts):
 * round trips over random frame sequences, the byte budget of an ordinary move, and hostile frames.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CompactDecoder,
  CompactEncoder,
  decodeSessionGrant,
  decodeSessionRequest,
  EXT_TYPE_IDS,
  encode,
  encodeSessionGrant,
  encodeSessionRequest,
  PosbusDecodeError,
  quantise,
  TYPE_IDS,
  type UserTransform,
} from '../../protocol/posbus/index.ts';

const ids = Array.from(
  { length: 12 },
  (_, i) => `0000000${i.toString(16)}-1111-2222-3333-${String(i).padStart(12, '0')}`,
);
const coord = fc.oneof(
  fc.double({ min: -100_000, max: 100_000, noNaN: true }),
  fc.integer({ min: -5, max: 5 }),
  fc.constant(0),
  fc.constant(-0),
);
const rot = fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(0), fc.double());
const entry = fc.record({
  id: fc.constantFrom(...ids),
  transform: fc.record({
    position: fc.record({ x: coord, y: coord, z: coord }),
    rotation: fc.record({ x: rot, y: rot, z: rot }),
  }),
});
const q = (v: number) => quantise(v) / 1000;

describe('compact positions: round trip', () => {
  it('the receiver holds every user at the quantised latest pose the sender sent', () => {
    fc.assert(
      fc.property(fc.array(fc.array(entry, { maxLength: 20 }), { maxLength: 15 }), (frames) => {
        const enc = new CompactEncoder();
        const dec = new CompactDecoder();
        const expected = new Map<string, number[]>();
        const seen = new Map<string, number[]>();
        for (const entries of frames) {
          const frame = enc.encode(entries);
          for (const e of entries) {
            const p = e.transform.position;
            const r = e.transform.rotation;
            expected.set(e.id, [q(p.x), q(p.y), q(p.z), q(r.x), q(r.y), q(r.z)]);
          }
          if (!frame) continue;
          for (const u of dec.decode(frame)) {
            const { position: p, rotation: r } = u.transform;
            seen.set(u.id, [p.x, p.y, p.z, r.x, r.y, r.z]);
          }
        }
        // Every user ever sent is known to the receiver with exactly the quantised values.
        expect(seen).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('recordSize predicts the bytes each record adds', () => {
    fc.assert(
      fc.property(fc.array(fc.array(entry, { maxLength: 10 }), { maxLength: 8 }), (frames) => {
        const enc = new CompactEncoder();
        for (const entries of frames) {
          // One entry per user per frame: within a frame a later entry is measured against the earlier one.
          const unique = [...new Map(entries.map((e) => [e.id, e])).values()];
          const predicted = unique.reduce((sum, e) => sum + enc.recordSize(e), 0);
          const frame = enc.encode(unique);
          expect(frame ? frame.length - 8 : 0).toBe(predicted);
        }
      }),
    );
  });

  it('sends nothing for users that did not change, and only the changed components', () => {
    const enc = new CompactEncoder();
    const dec = new CompactDecoder();
    const a: UserTransform = {
      id: ids[1],
      transform: { position: { x: 10, y: 1.5, z: -20 }, rotation: { x: 0, y: 1.25, z: 0 } },
    };
    dec.decode(enc.encode([a]) as Uint8Array);
    expect(enc.encode([a])).toBeUndefined();
    const moved = { ...a, transform: { ...a.transform, position: { x: 10.15, y: 1.5, z: -20 } } };
    const frame = enc.encode([moved]) as Uint8Array;
    // header 4 + short id 1 + mask 1 + delta 150 → zigzag 300 (2 bytes) + trailer 4
    expect(frame.length).toBe(12);
    expect(dec.decode(frame)).toEqual([{ id: a.id, transform: { ...moved.transform } }]);
  });

  it('an ordinary walking update is at most 18 bytes (usually far less) against 22–46 classic', () => {
    const enc = new CompactEncoder();
    let x = 12.3;
    let z = -40.7;
    let yaw = 0.3;
    enc.encode([{ id: ids[2], transform: { position: { x, y: 0, z }, rotation: { x: 0, y: yaw, z: 0 } } }]);
    for (let i = 0; i < 200; i++) {
      // up to 1.5 units per tick in x and z, a turn of up to ±0.5 rad, a hop in y
      x += Math.sin(i) * 1.5;
      z += Math.cos(i * 0.7) * 1.5;
      yaw += Math.sin(i * 1.3) * 0.5;
      const e = {
        id: ids[2],
        transform: { position: { x, y: Math.abs(Math.sin(i)), z }, rotation: { x: 0.01 * i, y: yaw, z: 0 } },
      };
      expect(enc.recordSize(e)).toBeLessThanOrEqual(18);
      enc.encode([e]);
    }
  });
});

describe('compact positions: hostile frames', () => {
  const frameOf = (body: number[]) => {
    const id = EXT_TYPE_IDS.CompactTransforms;
    const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    return new Uint8Array([...le(id), ...body, ...le(~id >>> 0)]);
  };
  const mapping = (short: number) => [0, short, ...new Array(16).fill(0xab)];

  it.each([
    ['an update of an unmapped short id', [5, 1, 2], 'bad-record'],
    ['a reserved mask bit', [...mapping(1), 1, 0x40], 'bad-record'],
    ['a mapping of short id 0', mapping(0), 'bad-record'],
    ['a short id mapped twice', [...mapping(1), ...mapping(1)], 'bad-record'],
    ['a truncated mapping', [0, 1, 0xab, 0xab], 'truncated'],
    ['a truncated delta', [...mapping(1), 1, 1, 0x80], 'truncated'],
    [
      'a value past ±2^46',
      [...mapping(1), 1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
      'bad-record',
    ],
  ])('%s is refused', (_, body, reason) => {
    const dec = new CompactDecoder();
    expect(() => dec.decode(frameOf(body as number[]))).toThrow(PosbusDecodeError);
    try {
      dec.decode(frameOf(body as number[]));
    } catch (e) {
      expect((e as PosbusDecodeError).reason).toBe(reason);
    }
  });

  it('refuses short frames, other types and a wrong trailer', () => {
    const dec = new CompactDecoder();
    expect(() => dec.decode(new Uint8Array(7))).toThrow(PosbusDecodeError);
    expect(() => dec.decode(encode({ type: 'Signal', value: 1 }))).toThrow(/unknown-type/);
    const f = frameOf(mapping(1));
    f[f.length - 1] ^= 1;
    expect(() => dec.decode(f)).toThrow(/trailer-mismatch/);
  });

  it('a refused frame changes nothing; random bytes only ever raise PosbusDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (garbage) => {
        const enc = new CompactEncoder();
        const dec = new CompactDecoder();
        const a = {
          id: ids[3],
          transform: { position: { x: 1, y: 2, z: 3 }, rotation: { x: 0, y: 0, z: 0 } },
        };
        dec.decode(enc.encode([a]) as Uint8Array);
        const frame = frameOf([...garbage]);
        let refused = false;
        try {
          dec.decode(frame);
        } catch (e) {
          expect(e).toBeInstanceOf(PosbusDecodeError);
          refused = true;
        }
        // A frame that happened to be valid may have moved the user: only a refused one must change nothing.
        if (!refused) return;
        const b = { ...a, transform: { ...a.transform, position: { x: 1, y: 2, z: 4 } } };
        const got = dec.decode(enc.encode([b]) as Uint8Array);
        expect(got).toEqual([
          { id: a.id, transform: { position: { x: 1, y: 2, z: 4 }, rotation: a.transform.rotation } },
        ]);
      }),
      { numRuns: 500 },
    );
  });

  it('a frame failing halfway does not apply its first half', () => {
    const dec = new CompactDecoder();
    dec.decode(frameOf([...mapping(1), 1, 1, 4])); // x = 2 (zigzag 4) → 0.002
    expect(() => dec.decode(frameOf([1, 1, 2, 9, 1]))).toThrow(PosbusDecodeError); // x += 1, then unmapped 9
    expect(dec.decode(frameOf([1, 1, 0]))[0].transform.position.x).toBe(0.002);
  });
});

describe('session negotiation frames', () => {
  it('round trip', () => {
    fc.assert(
      fc.property(
        fc.record({
          features: fc.integer({ min: 0, max: 3 }),
          resumeToken: fc.string({ maxLength: 64 }).filter((s) => Buffer.byteLength(s) === s.length),
          receivedFrames: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          maxBytesPerSecond: fc.integer({ min: 0, max: 0xffffffff }),
        }),
        (m) => {
          expect(decodeSessionRequest(encodeSessionRequest(m))).toEqual(m);
        },
      ),
    );
    const grant = {
      features: 3,
      resumeToken: 'abc',
      graceMs: 10_000,
      outcome: 2 as const,
      sentFrames: 12345,
    };
    expect(decodeSessionGrant(encodeSessionGrant(grant))).toEqual(grant);
  });

  it('refuses other frames, long tokens, negative counts, unknown outcomes and trailing bytes', () => {
    const req = { features: 1, resumeToken: '', receivedFrames: 0, maxBytesPerSecond: 0 };
    expect(() => decodeSessionRequest(encode({ type: 'Signal', value: 1 }))).toThrow(PosbusDecodeError);
    expect(() => decodeSessionRequest(encodeSessionRequest({ ...req, resumeToken: 'x'.repeat(65) }))).toThrow(
      /bad-record/,
    );
    expect(() => decodeSessionRequest(encodeSessionRequest({ ...req, receivedFrames: -1 }))).toThrow(
      /bad-record/,
    );
    expect(() =>
      decodeSessionGrant(
        encodeSessionGrant({ features: 0, resumeToken: '', graceMs: 0, outcome: 3 as never, sentFrames: 0 }),
      ),
    ).toThrow(/bad-record/);
    const f = encodeSessionRequest(req);
    const longer = new Uint8Array(f.length + 1);
    longer.set(f.subarray(0, f.length - 4));
    longer.set(f.subarray(f.length - 4), f.length - 3);
    expect(() => decodeSessionRequest(longer)).toThrow(/trailing-bytes/);
    expect(() => decodeSessionRequest(new Uint8Array(3))).toThrow(/frame-too-short/);
  });

  it('the extension type ids are not in the original table', () => {
    for (const id of Object.values(EXT_TYPE_IDS)) expect(Object.values(TYPE_IDS)).not.toContain(id);
  });
});

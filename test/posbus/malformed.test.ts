/**
 * Malformed frames: decode throws only PosbusDecodeError, with the reason and offset of SPEC.md §2-§4's
 * rejection rules, and never allocates for counts the frame cannot hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnyMap,
  type AnyValue,
  decode,
  encode,
  type Message,
  PosbusDecodeError,
  type PosbusDecodeReason,
  PosbusEncodeError,
} from '../../protocol/posbus/index.ts';
import {
  bytes,
  frame,
  Gotiny,
  SPEC_TYPE_IDS as ids,
  loadVectors,
  musInt,
  NIL,
  umidBytes,
} from './helpers.ts';

type Outcome = { message: Message } | { error: PosbusDecodeError };

/** Decodes; any error other than PosbusDecodeError fails the test. */
function attempt(f: Uint8Array): Outcome {
  try {
    return { message: decode(f) };
  } catch (e) {
    if (!(e instanceof PosbusDecodeError))
      throw new Error(`decode threw a non-PosbusDecodeError: ${e}`, { cause: e });
    const n = f.length;
    const bodyReason = !['frame-too-short', 'trailer-mismatch', 'unknown-type'].includes(e.reason);
    if (bodyReason && (e.offset < 4 || e.offset > n - 4))
      throw new Error(`offset ${e.offset} outside the body: ${e}`);
    return { error: e };
  }
}

function expectError(f: Uint8Array, reason: PosbusDecodeReason, offset?: number): PosbusDecodeError {
  const r = attempt(f);
  if ('message' in r) throw new Error(`expected ${reason}, decoded ${JSON.stringify(r.message)}`);
  expect(r.error.reason).toBe(reason);
  if (offset !== undefined) expect(r.error.offset).toBe(offset);
  expect(r.error.message).toContain(reason);
  return r.error;
}

const cat = (...parts: (number[] | Uint8Array | string)[]) =>
  parts.flatMap((p) => (typeof p === 'string' ? [...bytes(p)] : [...p]));
const UMID = umidBytes('018b9000-aaaa-7bbb-8ccc-123412341234');
const NIL_BYTES = umidBytes(NIL);

/** An AttributeValueChanged frame whose value is the given gotiny bytes (after the 01 presence byte). */
const avc = (g: Gotiny) => frame(ids.AttributeValueChanged, cat(UMID, '00', '00', '01', g.out, UMID));
/** Offset of the gotiny value in `avc` frames. */
const AVC_VALUE = 4 + 16 + 1 + 1 + 1;
const baseAvc = {
  type: 'AttributeValueChanged',
  pluginId: NIL,
  attributeName: '',
  changeType: '',
  targetId: NIL,
} as const;
const avcFrameNil = (g: Gotiny) =>
  frame(ids.AttributeValueChanged, cat(NIL_BYTES, '00', '00', '01', g.out, NIL_BYTES));

describe('frame (§2)', () => {
  it('rejects frames shorter than 8 bytes', () => {
    for (let n = 0; n < 8; n++) expectError(new Uint8Array(n).fill(0xff), 'frame-too-short', 0);
  });

  it('rejects a header/trailer mismatch, at the trailer', () => {
    const good = frame(ids.Signal, '09');
    for (let i = 0; i < good.length; i++) {
      if (i === 4) continue;
      const bad = good.slice();
      bad[i] ^= 0x10;
      expectError(bad, 'trailer-mismatch', bad.length - 4);
    }
  });

  it('rejects unknown type ids', () => {
    expectError(frame(0x12345678, '09'), 'unknown-type', 0);
    expectError(frame(0, ''), 'unknown-type', 0);
  });

  it('rejects bodies that are too short instead of borrowing trailer bytes', () => {
    expectError(frame(ids.Signal, ''), 'truncated', 4);
    expectError(frame(ids.Signal, 'ff'), 'truncated', 4);
    expectError(frame(ids.LockObject, UMID.slice(0, 15)), 'truncated', 4);
  });

  it('rejects bytes left between the body and the trailer', () => {
    expectError(frame(ids.Signal, '0900'), 'trailing-bytes', 5);
    for (const v of loadVectors()) {
      const f = bytes(v.hex);
      const n = f.length;
      const padded = Uint8Array.from([...f.subarray(0, n - 4), 0x00, ...f.subarray(n - 4)]);
      expectError(padded, 'trailing-bytes', n - 4);
    }
  });
});

describe('MUS primitives (§3)', () => {
  it('32-bit varints: a 5th byte above 0f overflows', () => {
    expectError(frame(ids.Signal, 'ffffffff10'), 'varint-overflow', 8);
    expectError(frame(ids.Signal, '8080808080'), 'varint-overflow', 8);
    expectError(frame(ids.MyTransform, 'ffffffff10'), 'varint-overflow', 8);
    expectError(frame(ids.LockObjectResponse, cat(UMID, 'ffffffff7f', UMID)), 'varint-overflow', 24);
  });

  it('64-bit varints: a 10th byte above 01 overflows', () => {
    const tail = cat('00', '00', NIL_BYTES, NIL_BYTES);
    expectError(frame(ids.HandShake, cat('ff'.repeat(9), '02', tail)), 'varint-overflow', 13);
    expectError(frame(ids.HandShake, cat('80'.repeat(9), '80', tail)), 'varint-overflow', 13);
    expectError(frame(ids.HandShake, cat('00', '80'.repeat(9), '7f', tail)), 'varint-overflow', 14);
  });

  it('ints outside ±(2^53-1) are refused, not rounded', () => {
    const tail = cat('00', '00', NIL_BYTES, NIL_BYTES);
    expectError(frame(ids.HandShake, cat(musInt(2n ** 53n), tail)), 'int-out-of-range', 4);
    expectError(frame(ids.HandShake, cat(musInt(-(2n ** 53n)), tail)), 'int-out-of-range', 4);
    expectError(frame(ids.HandShake, cat('ff'.repeat(9), '01', tail)), 'int-out-of-range', 4);
  });

  it('negative lengths (odd zigzag prefixes)', () => {
    expectError(frame(ids.GenericMessage, '01'), 'negative-length', 4);
    expectError(frame(ids.GenericMessage, '0003'), 'negative-length', 5);
    expectError(frame(ids.RemoveUsers, '01'), 'negative-length', 4);
    expectError(frame(ids.EventStart, musInt(-(2 ** 40))), 'negative-length', 4);
  });

  it('string and bytes lengths past the end of the body', () => {
    expectError(frame(ids.GenericMessage, '0a6162'), 'truncated', 4);
    expectError(frame(ids.GenericMessage, '00' + '0a6162'), 'truncated', 5);
    expectError(frame(ids.Notification, cat('00', musInt(2 ** 40))), 'truncated', 5);
  });

  it('bool bytes other than 00/01', () => {
    const def = (flags: string) => cat(NIL_BYTES, NIL_BYTES, NIL_BYTES, '00', '00', '00'.repeat(9), flags);
    expectError(frame(ids.ObjectDefinition, def('020000')), 'bad-byte', 4 + 48 + 2 + 9);
    expectError(frame(ids.ObjectDefinition, def('00ff00')), 'bad-byte', 4 + 48 + 2 + 9 + 1);
    expectError(frame(ids.UserData, cat(UMID, '00', '00', '00'.repeat(6), '02')), 'bad-byte', 4 + 16 + 2 + 6);
  });

  it('optional flags other than 00/01', () => {
    expectError(frame(ids.ActivityUpdate, cat(UMID, '00', '02')), 'bad-byte', 21);
    expectError(frame(ids.ActivityUpdate, cat(UMID, '00', '00', '01', '80')), 'bad-byte', 23);
    expectError(frame(ids.AttributeValueChanged, cat(UMID, '00', '00', '02', UMID)), 'bad-byte', 22);
  });
});

describe('AnyMap (§4.3)', () => {
  it('unknown type names', () => {
    for (const name of ['int64', '', 'String', 'map[string]string', 'uint8']) {
      const g = new Gotiny().flag(true).gvarint(1).gstring('a').flag(true).gstring(name);
      expectError(avc(g), 'unknown-any-type', AVC_VALUE + 1 + 1 + 2);
    }
  });

  it('gotiny string and count lengths past the end', () => {
    expectError(avc(new Gotiny().flag(true).gvarint(1).gvarint(200)), 'truncated', AVC_VALUE + 2);
    expectError(avc(new Gotiny().flag(true).gvarint(0xffffffff)), 'truncated', AVC_VALUE + 1);
    const list = new Gotiny()
      .flag(true)
      .gvarint(1)
      .gstring('a')
      .flag(true)
      .gstring('[]interface {}')
      .flag(true);
    expectError(avc(list.gvarint(0xfffffff0)), 'truncated');
  });

  /** n maps, each the only value of its parent's key "k". */
  const nestedMaps = (n: number): AnyMap => {
    let m: AnyMap = { leaf: 'x' };
    for (let i = 1; i < n; i++) m = { k: m };
    return m;
  };
  const nestedMapBytes = (n: number): Gotiny => {
    const g = new Gotiny().flag(true).gvarint(1);
    for (let i = 1; i < n; i++)
      g.gstring('k').flag(true).gstring('map[string]interface {}').flag(true).gvarint(1);
    return g.gstring('leaf').flag(true).gstring('string').gstring('x');
  };

  it('64 levels below the top-level map round-trip; one more is refused by encode and decode alike', () => {
    const ok: Message = { ...baseAvc, value: nestedMaps(65) };
    expect([...encode(ok)]).toEqual([...avcFrameNil(nestedMapBytes(65))]);
    expect(decode(encode(ok))).toEqual(ok);
    expect(() => encode({ ...ok, value: nestedMaps(66) })).toThrow(PosbusEncodeError);
    expectError(avcFrameNil(nestedMapBytes(66)), 'too-deep');
  });

  it('deep nesting is refused with too-deep, not a RangeError, on both sides', () => {
    expectError(avc(nestedMapBytes(5000)), 'too-deep');
    const arrays = new Gotiny().flag(true).gvarint(1).gstring('a');
    for (let i = 0; i < 5000; i++) arrays.flag(true).gstring('[]interface {}').flag(true).gvarint(1);
    expectError(avc(arrays.flag(false)), 'too-deep');
    let deep: AnyValue = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const m = (value: AnyMap): Message => ({ ...baseAvc, value });
    expect(() => encode(m({ a: deep }))).toThrow(PosbusEncodeError);
    const cyclic: AnyMap = {};
    cyclic.self = cyclic;
    expect(() => encode(m(cyclic))).toThrow(PosbusEncodeError);
  });
});

describe('huge counts (§3: bound counts by the bytes left)', () => {
  const count = musInt(2 ** 40);
  const cases: [string, Uint8Array, number][] = [
    ['AddObjects', frame(ids.AddObjects, count), 4],
    ['AddUsers', frame(ids.AddUsers, count), 4],
    ['RemoveUsers', frame(ids.RemoveUsers, count), 4],
    ['RemoveObjects', frame(ids.RemoveObjects, cat(count, UMID)), 4],
    ['UsersTransformList', frame(ids.UsersTransformList, count), 4],
    ['TriggerVisualEffects', frame(ids.TriggerVisualEffects, cat(count, '00'.repeat(30))), 4],
    ['EventStart', frame(ids.EventStart, count), 4],
    ['ObjectData', frame(ids.ObjectData, cat(UMID, count, '00'.repeat(30))), 20],
    ['GenericMessage data', frame(ids.GenericMessage, cat('00', count)), 5],
    ['RemoveUsers, one UMID short', frame(ids.RemoveUsers, cat(musInt(2), UMID, UMID.slice(1))), 4],
  ];

  it.each(cases)('%s: truncated, fast, without allocating', (_name, f, offset) => {
    globalThis.gc?.();
    const before = process.memoryUsage();
    const start = performance.now();
    for (let i = 0; i < 20; i++) expectError(f, 'truncated', offset);
    const elapsed = performance.now() - start;
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(50 * 2 ** 20);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(50 * 2 ** 20);
    expect(elapsed).toBeLessThan(500);
  });

  it('AnyMap and array counts of 2^32-1', () => {
    const g = new Gotiny().flag(true).gvarint(0xffffffff);
    expectError(avc(g), 'truncated', AVC_VALUE + 1);
  });
});

// ---- properties --------------------------------------------------------------------------------

/** A decoded message re-encodes, and that frame decodes to the same message. */
function checkOutcome(f: Uint8Array): void {
  const r = attempt(f);
  if ('message' in r) expect(decode(encode(r.message))).toEqual(r.message);
}

describe('random input never throws anything but PosbusDecodeError', () => {
  it.each(Object.entries(ids))('random bodies of %s', (_name, typeId) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (body) => checkOutcome(frame(typeId, body))),
      { numRuns: 2000 },
    );
  });

  const vectors = loadVectors().map((v) => bytes(v.hex));

  it('every single-byte change of every vector body', () => {
    for (const f of vectors) {
      for (let i = 4; i < f.length - 4; i++) {
        for (const b of [0x00, 0x01, 0x02, 0x0f, 0x10, 0x7f, 0x80, 0xff, f[i] ^ 0x01, f[i] ^ 0x80]) {
          const m = f.slice();
          m[i] = b;
          checkOutcome(m);
        }
      }
    }
  });

  it('random multi-byte mutations, insertions and deletions of vector bodies', () => {
    const edit = fc.tuple(
      fc.constantFrom('set', 'insert', 'delete'),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...vectors), fc.array(edit, { minLength: 1, maxLength: 6 }), (f, edits) => {
        const body = [...f.subarray(4, f.length - 4)];
        for (const [op, at, b] of edits) {
          const i = at % (body.length + 1);
          if (op === 'insert') body.splice(i, 0, b);
          else if (i < body.length) {
            if (op === 'set') body[i] = b;
            else body.splice(i, 1);
          }
        }
        checkOutcome(Uint8Array.from([...f.subarray(0, 4), ...body, ...f.subarray(f.length - 4)]));
      }),
      { numRuns: 2000 },
    );
  });
});

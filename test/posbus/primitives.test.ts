/**
 * The worked examples of SPEC.md §2-§3 (§4 is in gotiny.test.ts), through the public encode/decode API
 * and MusReader/MusWriter. Expected bytes are either quoted from SPEC.md or built with the spec's rules in
 * helpers.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AttributeValueChanged,
  decode,
  encode,
  type GenericMessage,
  type HandShake,
  type MyTransform,
} from '../../protocol/posbus/index.ts';
import { MusReader } from '../../protocol/posbus/reader.ts';
import { MusWriter } from '../../protocol/posbus/writer.ts';
import { bodyOf, bytes, frame, hex, musInt, musString, NIL, SPEC_TYPE_IDS } from './helpers.ts';

const ids = SPEC_TYPE_IDS;

function written(f: (w: MusWriter) => void, initialSize?: number): string {
  const w = new MusWriter(initialSize);
  f(w);
  return hex(w.take());
}

describe('frame (§2)', () => {
  it('Signal 9 is 4d96c1ad 09 b2693e52', () => {
    expect(hex(encode({ type: 'Signal', value: 9 }))).toBe('4d96c1ad09b2693e52');
    expect(decode(bytes('4d96c1ad 09 b2693e52'))).toEqual({ type: 'Signal', value: 9 });
  });
});

describe('f32 (§3)', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [1, 'bf8002'],
    [-0.5, 'bf01'],
    [-0, '8001'],
  ];
  it.each(cases)('%d → %s', (v, want) => {
    expect(written((w) => w.f32(v))).toBe(want);
    const got = new MusReader(bytes(want)).f32();
    expect(Object.is(got, v)).toBe(true);
  });

  it('MyTransform carries them in wire order, -0 staying negative', () => {
    const m: MyTransform = {
      type: 'MyTransform',
      position: { x: 0, y: 1, z: -0.5 },
      rotation: { x: -0, y: 0, z: 1 },
    };
    const f = encode(m);
    expect(hex(bodyOf(f))).toBe('00bf8002bf01800100bf8002');
    const back = decode(f) as MyTransform;
    expect(back).toEqual(m);
    expect(Object.is(back.rotation.x, -0)).toBe(true);
    expect(Object.is(back.position.x, 0)).toBe(true);
  });

  it('is the byte-reversed binary32 pattern as a uvarint, for any float32', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (v) => {
        const be = Buffer.alloc(4);
        be.writeFloatBE(v);
        const want = hex(Uint8Array.from(uvarint32Ref(be.readUInt32LE())));
        expect(written((w) => w.f32(v))).toBe(want);
        expect(Object.is(new MusReader(bytes(want)).f32(), v)).toBe(true);
      }),
    );
  });
});

/** Plain LEB128 of a uint32 (number arithmetic, independent of helpers' bigint version). */
function uvarint32Ref(v: number): number[] {
  const out: number[] = [];
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

describe('string length prefix (§3)', () => {
  const generic = (topic: string): GenericMessage => ({
    type: 'GenericMessage',
    topic,
    data: new Uint8Array(),
  });
  it.each([
    [63, '7e'],
    [64, '8001'],
    [8192, '808001'],
  ])('%d bytes → prefix %s', (n, prefix) => {
    for (const s of ['a'.repeat(n), 'é'.repeat(n / 2)]) {
      if (Buffer.byteLength(s) !== n) continue;
      const f = encode(generic(s));
      const body = hex(bodyOf(f));
      expect(body).toBe(`${prefix}${Buffer.from(s).toString('hex')}00`);
      expect((decode(f) as GenericMessage).topic).toBe(s);
    }
  });

  it('counts UTF-8 bytes, not UTF-16 units', () => {
    for (const s of ['é', '€', '😀', 'a😀b', 'é'.repeat(40), '€'.repeat(100)]) {
      expect(hex(bodyOf(encode(generic(s))))).toBe(hex(Uint8Array.from([...musString(s), 0])));
    }
  });

  it('writes a one-character non-ASCII string correctly when the buffer must grow', () => {
    // Regression: the length prefix's reserve used to reallocate the buffer and drop the encoded text.
    for (const s of ['é', '€', '\u0080']) {
      for (let filler = 0; filler < 12; filler++) {
        const got = written((w) => {
          for (let i = 0; i < filler; i++) w.byte(0xaa);
          w.string(s);
        }, 8);
        expect(got).toBe('aa'.repeat(filler) + hex(Uint8Array.from(musString(s))));
      }
    }
  });

  it('keeps a leading U+FEFF (it is data, not a byte-order mark)', () => {
    // Regression: TextDecoder drops a leading BOM unless told not to.
    for (const s of ['\ufeff', '\ufeffhi', `\ufeff${'x'.repeat(40)}`]) {
      expect((decode(encode(generic(s))) as GenericMessage).topic).toBe(s);
      const m: AttributeValueChanged = {
        type: 'AttributeValueChanged',
        pluginId: NIL,
        attributeName: s,
        changeType: '',
        value: { [`k${s}`]: s },
        targetId: NIL,
      };
      expect(decode(encode(m))).toEqual(m);
    }
  });

  it('strings are not checked for UTF-8 validity: invalid bytes decode to U+FFFD', () => {
    const f = frame(ids.Notification, [0x01, 0x04, 0xff, 0xfe]);
    expect(decode(f)).toEqual({ type: 'Notification', notifyType: 1, value: '\ufffd\ufffd' });
  });
});

describe('int: zigzag + uvarint (§3)', () => {
  const handShake = (v: number): HandShake => ({
    type: 'HandShake',
    handshakeVersion: v,
    protocolVersion: 0,
    token: '',
    userId: NIL,
    sessionId: NIL,
  });
  const intBytes = (v: number) => hex(bodyOf(encode(handShake(v)))).slice(0, -(2 + 2 + 64));

  it.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [63, '7e'],
    [64, '8001'],
    [-64, '7f'],
    [2 ** 53 - 1, 'feffffffffffff1f'],
    [-(2 ** 53 - 1), 'fdffffffffffff1f'],
  ])('%d → %s', (v, want) => {
    expect(intBytes(v)).toBe(want);
    expect(hex(Uint8Array.from(musInt(v)))).toBe(want);
    expect((decode(encode(handShake(v))) as HandShake).handshakeVersion).toBe(v);
  });

  it('matches the reference encoding for every safe integer', () => {
    const edges = [
      2 ** 28,
      2 ** 30,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32,
      -(2 ** 53),
    ].map((v) => (Number.isSafeInteger(v) ? v : v + 1));
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer(), fc.constantFrom(...edges)), (v) => {
        expect(intBytes(v)).toBe(hex(Uint8Array.from(musInt(v))));
        const r = new MusReader(Uint8Array.from(musInt(v)));
        expect(r.int()).toBe(v);
        expect(r.remaining).toBe(0);
      }),
    );
  });

  it('accepts over-long varints (80 00 = 0)', () => {
    expect(new MusReader(bytes('8000')).int()).toBe(0);
    expect(decode(frame(ids.Signal, '8080808000'))).toEqual({ type: 'Signal', value: 0 });
    // 2^53-1 (zigzag 2^54-2) padded with empty groups up to the 10-byte maximum:
    expect(new MusReader(bytes('feffffffffffff9f8000')).int()).toBe(2 ** 53 - 1);
  });

  it('refuses to encode a non-integer or unsafe int', () => {
    for (const v of [0.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY]) {
      expect(() => encode(handShake(v))).toThrow(/handshakeVersion/);
    }
  });
});

describe('u32 and i8 (§3)', () => {
  it('u32 is plain LEB128, up to ff ff ff ff 0f', () => {
    expect(hex(encode({ type: 'Signal', value: 2 ** 32 - 1 }))).toBe(hex(frame(ids.Signal, 'ffffffff0f')));
    expect(hex(bodyOf(encode({ type: 'UserAction', value: 300 })))).toBe('ac02');
    expect(decode(frame(ids.Signal, 'ffffffff0f'))).toEqual({ type: 'Signal', value: 2 ** 32 - 1 });
    expect(() => encode({ type: 'Signal', value: 2 ** 32 })).toThrow();
    expect(() => encode({ type: 'Signal', value: -1 })).toThrow();
  });

  it('i8 is one raw two’s-complement byte (-1 → ff)', () => {
    expect(written((w) => w.i8(-1))).toBe('ff');
    expect(written((w) => w.i8(-128))).toBe('80');
    expect(new MusReader(bytes('ff80017f')).i8()).toBe(-1);
    expect(() => written((w) => w.i8(128))).toThrow();
  });
});

describe('encoder buffer', () => {
  it('encodes a frame bigger than 1 MB intact, and the next frame too', () => {
    // Regression: the writer's oversized buffer used to be dropped before the trailer and copy were written.
    const data = new Uint8Array(1_500_000).map((_, i) => i * 7);
    const big = encode({ type: 'GenericMessage', topic: 't', data });
    expect(big.length).toBe(4 + 2 + 4 + 1_500_000 + 4);
    const back = decode(big) as GenericMessage;
    expect(back.topic).toBe('t');
    expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
    expect(hex(encode({ type: 'Signal', value: 9 }))).toBe('4d96c1ad09b2693e52');
  });

  it('returns frames that do not share memory with each other', () => {
    const a = encode({ type: 'Signal', value: 1 });
    encode({ type: 'Signal', value: 2 });
    expect(hex(a)).toBe('4d96c1ad01b2693e52');
  });
});

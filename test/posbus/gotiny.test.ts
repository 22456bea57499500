/**
 * The gotiny-encoded fields of SPEC.md §4: Uint256 gvarints, EthAddress and AnyMap (flag bits, type names),
 * through the public encode/decode API. Expected bytes are quoted from SPEC.md or built with helpers.ts's
 * independent implementation of §4's rules.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnyMap,
  type AttributeValueChanged,
  decode,
  encode,
  type Message,
} from '../../protocol/posbus/index.ts';
import {
  bodyOf,
  bytes,
  frame,
  Gotiny,
  hex,
  SPEC_TYPE_IDS as ids,
  musString,
  NIL,
  umidBytes,
  zigzag,
} from './helpers.ts';

describe('Uint256 gvarints (§4, §4.1) via AddPendingStake.amount', () => {
  const stake = (amount: bigint): Message => ({
    type: 'AddPendingStake',
    transactionId: NIL,
    odysseyId: NIL,
    wallet: `0x${'00'.repeat(20)}`,
    amount,
    comment: '',
    kind: 0,
  });
  // The amount starts after two UMIDs and the 20-byte wallet; comment and kind follow (00 00).
  const amountHex = (amount: bigint) => hex(bodyOf(encode(stake(amount)))).slice(2 * 52, -4);
  const limb = (v: bigint) => hex(Uint8Array.from(new Gotiny().gvarint(v, 9).out));

  it.each([
    [0n, '00000000'],
    [127n, 'ff00000000'],
    [16383n, 'ffff00000000'],
    [2n ** 21n - 1n, 'ffffff00000000'],
    [10n ** 18n, '808090bbbad6adf00d000000'],
    [2n ** 63n, `${'80'.repeat(9)}000000`],
    [2n ** 256n - 1n, 'ff'.repeat(36)],
    [2n ** 64n, '00010000'],
  ])('%s → %s', (amount, want) => {
    expect(amountHex(amount)).toBe(want);
    const f = frame(ids.AddPendingStake, `${'00'.repeat(52)}${want}0000`);
    expect(decode(f)).toEqual(stake(amount));
  });

  it('matches the reference gvarint limbs for any uint256', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), (v) => {
        const mask = 2n ** 64n - 1n;
        const want = [0n, 64n, 128n, 192n].map((s) => limb((v >> s) & mask)).join('');
        expect(amountHex(v)).toBe(want);
      }),
    );
  });

  it('accepts canonical LEB128 (7f for 127) when reading', () => {
    expect(decode(frame(ids.AddPendingStake, `${'00'.repeat(52)}7f0000000000`))).toEqual(stake(127n));
  });

  it('refuses amounts outside 0..2^256-1', () => {
    expect(() => encode(stake(-1n))).toThrow();
    expect(() => encode(stake(2n ** 256n))).toThrow();
  });

  it('EthAddress is 20 raw bytes, decoded as lowercase 0x-hex', () => {
    const f = encode({ ...stake(0n), wallet: '0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359' } as Message);
    expect(hex(bodyOf(f)).slice(64, 104)).toBe('fb6916095ca1df60bb79ce92ce3ea74c37c5d359');
    expect((decode(f) as { wallet: string }).wallet).toBe('0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359');
  });
});

describe('AnyMap (§4.3) via AttributeValueChanged.value', () => {
  const plugin = '018b9000-aaaa-7bbb-8ccc-123412341234';
  const avc = (value: AnyMap | null): AttributeValueChanged => ({
    type: 'AttributeValueChanged',
    pluginId: plugin,
    attributeName: 'n',
    changeType: 'c',
    value,
    targetId: NIL,
  });
  const avcFrame = (valueHex: string) =>
    frame(ids.AttributeValueChanged, [
      ...umidBytes(plugin),
      ...musString('n'),
      ...musString('c'),
      ...bytes(valueHex),
      ...umidBytes(NIL),
    ]);

  it.each<[string, AnyMap | null, string]>([
    ['the spec example {"foo":"bar"}', { foo: 'bar' }, '01 03 01 03 666f6f 06 737472696e67 03 626172'],
    ['an absent value', null, '00'],
    ['3.0', { a: 3 }, '01 03 01 0161 07 666c6f61743634 c010'],
    ['1.5', { a: 1.5 }, '01 03 01 0161 07 666c6f61743634 bff003'],
    ['true', { a: true }, '01 07 01 0161 04 626f6f6c'],
    ['false', { a: false }, '01 03 01 0161 04 626f6f6c'],
    ['null', { a: null }, '01 01 01 0161'],
    ['an empty map', {}, '01 01 00'],
    [
      'a 127-byte string: gvarint length ff 00',
      { a: 'x'.repeat(127) },
      `01 03 01 0161 06 737472696e67 ff00 ${'78'.repeat(127)}`,
    ],
    [
      'a 126-byte string: length 7e',
      { a: 'x'.repeat(126) },
      `01 03 01 0161 06 737472696e67 7e ${'78'.repeat(126)}`,
    ],
  ])('%s', (_name, value, wire) => {
    const f = avcFrame(wire);
    expect(hex(encode(avc(value)))).toBe(hex(f));
    expect(decode(f)).toEqual(avc(value));
  });

  it('opens a new flag byte where the 9th bit is needed', () => {
    // bits: map present, then (present, value) per entry; entry d's value bit is the 9th bit.
    const g = new Gotiny().flag(true).gvarint(4);
    for (const k of ['a', 'b', 'c', 'd']) g.gstring(k).flag(true).gstring('bool').flag(true);
    expect(hex(Uint8Array.from(g.out))).toBe(
      'ff04 0161 04626f6f6c 0162 04626f6f6c 0163 04626f6f6c 0164 04626f6f6c 01'.replace(/ /g, ''),
    );
    const value = { a: true, b: true, c: true, d: true };
    const f = avcFrame(`01${hex(Uint8Array.from(g.out))}`);
    expect(hex(encode(avc(value)))).toBe(hex(f));
    expect(decode(f)).toEqual(avc(value));
  });

  it('shares flag bytes between nested maps and arrays', () => {
    const value: AnyMap = { list: ['x', null, true], m: { k: false } };
    const g = new Gotiny().flag(true).gvarint(2);
    g.gstring('list').flag(true).gstring('[]interface {}').flag(true).gvarint(3);
    g.flag(true).gstring('string').gstring('x').flag(false).flag(true).gstring('bool').flag(true);
    g.gstring('m').flag(true).gstring('map[string]interface {}').flag(true).gvarint(1);
    g.gstring('k').flag(true).gstring('bool').flag(false);
    const f = avcFrame(`01${hex(Uint8Array.from(g.out))}`);
    expect(hex(encode(avc(value)))).toBe(hex(f));
    expect(decode(f)).toEqual(avc(value));
  });

  it('decodes the other registered type names: int, *int, *string, int32', () => {
    const g = new Gotiny().flag(true).gvarint(6);
    g.gstring('i').flag(true).gstring('int').gvarint(zigzag(-3), 9);
    g.gstring('p')
      .flag(true)
      .gstring('*int')
      .flag(true)
      .gvarint(zigzag(2 ** 40), 9);
    g.gstring('q').flag(true).gstring('*int').flag(false);
    g.gstring('s').flag(true).gstring('*string').flag(true).gstring('hi');
    g.gstring('t').flag(true).gstring('*string').flag(false);
    g.gstring('u').flag(true).gstring('int32').gvarint(zigzag(-70000));
    const f = avcFrame(`01${hex(Uint8Array.from(g.out))}`);
    expect(decode(f)).toEqual(avc({ i: -3, p: 2 ** 40, q: null, s: 'hi', t: null, u: -70000 }));
  });
});

/**
 * Round trips of every message type: decode(encode(m)) equals m, and re-encoding the decoded message gives
 * the same bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ActivityData,
  type AnyMap,
  type AnyValue,
  decode,
  encode,
  frameTypeId,
  type Message,
  type MessageOf,
  type MessageType,
  PosbusDecodeError,
  type Transform,
  type TransformNoScale,
  TYPE_IDS,
  typeNameOf,
  type UserData,
  type UserTransform,
  type Vec3,
} from '../../protocol/posbus/index.ts';
import { hex, SPEC_TYPE_IDS } from './helpers.ts';

const NUM_RUNS = 300;

// ---- field arbitraries --------------------------------------------------------------------------

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const umid = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000') },
  {
    weight: 5,
    arbitrary: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
      const h = toHex(b);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }),
  },
);
/** Any float32 value, -0 and ±Infinity included (fc.float only yields float32-representable values). */
const f32 = fc.oneof(fc.float({ noNaN: true }), fc.constantFrom(0, -0, 1, -0.5, 0.5));
const vec3: fc.Arbitrary<Vec3> = fc.record({ x: f32, y: f32, z: f32 });
const transformNoScale: fc.Arbitrary<TransformNoScale> = fc.record({ position: vec3, rotation: vec3 });
const transform: fc.Arbitrary<Transform> = fc.record({ position: vec3, rotation: vec3, scale: vec3 });
/** Strings of any code points (no lone surrogates), sometimes longer than the 1-byte length prefix. */
const str = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 20, maxLength: 120 }),
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => `\ufeff${s}`),
);
const int = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, -(2 ** 31) - 1, 2 ** 31 - 1),
);
const u32 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffffffff }));
const i8 = fc.integer({ min: -128, max: 127 });
const limbEdges = [0n, 127n, 2n ** 56n - 1n, 2n ** 63n, 2n ** 64n - 1n];
const uint256 = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
  fc
    .tuple(...[0, 1, 2, 3].map(() => fc.constantFrom(...limbEdges)))
    .map((limbs) => limbs.reduce((acc, l, i) => acc | (l << BigInt(64 * i)), 0n)),
);
const ethAddress = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${toHex(b)}`);
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });

/** Map keys that JavaScript keeps in insertion order (never integer-like). */
const key = fc.string({ maxLength: 8 }).map((s) => `k${s}`);
const { anyMap } = fc.letrec<{ anyValue: AnyValue; anyMap: AnyMap }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.constant(null),
    str,
    fc.boolean(),
    fc.double({ noNaN: true }),
    fc.array(tie('anyValue'), { maxLength: 4 }),
    tie('anyMap'),
  ),
  anyMap: fc.dictionary(key, tie('anyValue'), { maxKeys: 5 }),
}));

const activityData: fc.Arbitrary<ActivityData> = fc.record({
  position: nullable(vec3),
  description: nullable(str),
  hash: nullable(str),
  tokenSymbol: nullable(str),
  tokenAmount: nullable(str),
  bcTxHash: nullable(str),
  bcLogIndex: nullable(str),
});
const objectDefinition = fc.record({
  id: umid,
  parentId: umid,
  assetType: umid,
  assetFormat: i8,
  name: str,
  transform,
  isEditable: fc.boolean(),
  tetheredToParent: fc.boolean(),
  showOnMinimap: fc.boolean(),
});
const userData: fc.Arbitrary<UserData> = fc.record({
  id: umid,
  name: str,
  avatar: str,
  transform: transformNoScale,
  isGuest: fc.boolean(),
});
const userTransform: fc.Arbitrary<UserTransform> = fc.record({ id: umid, transform: transformNoScale });
const list = <T>(a: fc.Arbitrary<T>) => fc.array(a, { maxLength: 5 });

// ---- message arbitraries: the mapped type makes a missing message type a compile error -------------

function msg<K extends MessageType>(
  type: K,
  fields: { [F in keyof Omit<MessageOf<K>, 'type'>]: fc.Arbitrary<MessageOf<K>[F]> },
): fc.Arbitrary<MessageOf<K>> {
  return fc.record(fields as never).map((f) => ({ type, ...(f as object) }) as MessageOf<K>);
}

const messages: { [K in MessageType]: fc.Arbitrary<MessageOf<K>> } = {
  ActivityUpdate: msg('ActivityUpdate', {
    activityId: umid,
    changeType: str,
    activityType: nullable(str),
    data: nullable(activityData),
    userId: umid,
    objectId: umid,
  }),
  AddObjects: msg('AddObjects', { objects: list(objectDefinition) }),
  AddPendingStake: msg('AddPendingStake', {
    transactionId: umid,
    odysseyId: umid,
    wallet: ethAddress,
    amount: uint256,
    comment: str,
    kind: int,
  }),
  AddUsers: msg('AddUsers', { users: list(userData) }),
  AttributeValueChanged: msg('AttributeValueChanged', {
    pluginId: umid,
    attributeName: str,
    changeType: str,
    value: nullable(anyMap),
    targetId: umid,
  }),
  EventStart: msg('EventStart', { entries: fc.dictionary(key, str, { maxKeys: 6 }) }),
  FlyToMe: msg('FlyToMe', { pilot: umid, pilotName: str, objectId: umid }),
  GenericMessage: msg('GenericMessage', { topic: str, data: fc.uint8Array({ maxLength: 200 }) }),
  HandShake: msg('HandShake', {
    handshakeVersion: int,
    protocolVersion: int,
    token: str,
    userId: umid,
    sessionId: umid,
  }),
  HighFive: msg('HighFive', { senderId: umid, receiverId: umid, message: str }),
  LockObject: msg('LockObject', { id: umid }),
  LockObjectResponse: msg('LockObjectResponse', { id: umid, result: u32, lockOwner: umid }),
  MyTransform: msg('MyTransform', { position: vec3, rotation: vec3 }),
  Notification: msg('Notification', { notifyType: u32, value: str }),
  ObjectData: msg('ObjectData', { id: umid, entries: fc.dictionary(key, nullable(anyMap), { maxKeys: 4 }) }),
  ObjectDefinition: msg('ObjectDefinition', {
    id: umid,
    parentId: umid,
    assetType: umid,
    assetFormat: i8,
    name: str,
    transform,
    isEditable: fc.boolean(),
    tetheredToParent: fc.boolean(),
    showOnMinimap: fc.boolean(),
  }),
  ObjectTransform: msg('ObjectTransform', { id: umid, transform }),
  RemoveObjects: msg('RemoveObjects', { objects: list(umid) }),
  RemoveUsers: msg('RemoveUsers', { users: list(umid) }),
  SetWorld: msg('SetWorld', { id: umid, name: str, avatar: umid, owner: umid, avatar3dAssetId: umid }),
  Signal: msg('Signal', { value: u32 }),
  TeleportRequest: msg('TeleportRequest', { target: umid }),
  TriggerVisualEffects: msg('TriggerVisualEffects', { effects: list(fc.record({ name: str })) }),
  UnlockObject: msg('UnlockObject', { id: umid }),
  UserAction: msg('UserAction', { value: u32 }),
  UserData: msg('UserData', {
    id: umid,
    name: str,
    avatar: str,
    transform: transformNoScale,
    isGuest: fc.boolean(),
  }),
  UserStakedToOdyssey: msg('UserStakedToOdyssey', {
    transactionHash: str,
    wallet: str,
    objectId: umid,
    amount: str,
    comment: str,
    kind: int,
  }),
  UserTransform: msg('UserTransform', { id: umid, transform: transformNoScale }),
  UsersTransformList: msg('UsersTransformList', { value: list(userTransform) }),
};

/** Every -0 in `a` is -0 in `b` (toEqual already tells 0 from -0; this keeps the check explicit). */
function negativeZeros(v: unknown, path = ''): string[] {
  if (Object.is(v, -0)) return [path];
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return [];
  return Object.entries(v).flatMap(([k, x]) => negativeZeros(x, `${path}.${k}`));
}

// ---- tests ----------------------------------------------------------------------------------------

describe('type ids', () => {
  it('are those of SPEC.md §5, one per message type', () => {
    expect(TYPE_IDS).toEqual(SPEC_TYPE_IDS);
    expect(Object.keys(messages).sort()).toEqual(Object.keys(SPEC_TYPE_IDS).sort());
    for (const [name, id] of Object.entries(SPEC_TYPE_IDS)) expect(typeNameOf(id)).toBe(name);
  });
});

describe.each(Object.keys(messages) as MessageType[])('%s', (type) => {
  const arb = messages[type] as fc.Arbitrary<Message>;

  it('decode(encode(m)) equals m and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(arb, (m) => {
        const frame = encode(m);
        expect(frameTypeId(frame)).toBe(SPEC_TYPE_IDS[type]);
        const back = decode(frame);
        expect(back).toEqual(m);
        expect(negativeZeros(back)).toEqual(negativeZeros(m));
        expect(hex(encode(back))).toBe(hex(frame));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('decodes a frame inside a larger buffer, and the message does not share its memory', () => {
    fc.assert(
      fc.property(arb, fc.nat({ max: 64 }), fc.nat({ max: 64 }), (m, before, after) => {
        const frame = encode(m);
        const pool = new Uint8Array(before + frame.length + after).fill(0xa5);
        pool.set(frame, before);
        const back = decode(pool.subarray(before, before + frame.length));
        expect(back).toEqual(m);
        pool.fill(0);
        expect(back).toEqual(m);
      }),
      { numRuns: 50 },
    );
  });

  it('fails as truncated on every strict prefix of the body', () => {
    fc.assert(
      fc.property(arb, fc.nat(), (m, cut) => {
        const frame = encode(m);
        const bodyLength = frame.length - 8;
        if (bodyLength === 0) return;
        const n = cut % bodyLength;
        const short = new Uint8Array(n + 8);
        short.set(frame.subarray(0, 4 + n));
        short.set(frame.subarray(frame.length - 4), 4 + n);
        // The parse of the whole body reads byte n, so on the prefix it must run out of bytes there or earlier.
        const error = (() => {
          try {
            decode(short);
          } catch (e) {
            return e;
          }
        })();
        expect(error).toBeInstanceOf(PosbusDecodeError);
        expect((error as PosbusDecodeError).reason).toBe('truncated');
        expect((error as PosbusDecodeError).offset).toBeLessThanOrEqual(4 + n);
      }),
      { numRuns: 50 },
    );
  });
});

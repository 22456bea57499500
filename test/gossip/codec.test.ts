/** The gossip wire format: every message round-trips, and any other bytes give GossipDecodeError only. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAnnouncement,
  decodeOp,
  decodePeople,
  decodeSyncFrame,
  decodeSyncRequest,
  encodeAnnouncement,
  encodeCbor,
  encodeOp,
  encodePeople,
  encodeSyncFrame,
  encodeSyncRequest,
  GossipDecodeError,
  type PeopleMessage,
  type SyncFrame,
  type WireOp,
} from '../../protocol/gossip/index.ts';

const ID = '5e1f0d2c-7a41-4c39-9b1e-0d0000000101';
const WORLD = '5e1f0d2c-7a41-4c39-9b1e-0d0000000001';
const MAX = 1 << 20;
const objectOp: WireOp = {
  kind: 'object.put',
  worldId: WORLD,
  objectId: ID,
  fields: { name: 'Lamp', transform: { position: { x: 1, y: 2, z: 3 } } },
  stamp: '018c2a5b7e00:0001:12D3KooWpeer',
  origin: '12D3KooWpeer',
  actor: ID,
};
const attributeOp: WireOp = {
  kind: 'attribute.put',
  worldId: WORLD,
  objectId: ID,
  pluginId: 'f0f0f0f0-0f0f-4ff0-af0f-f0f0f0f0f0f0',
  name: 'object_color',
  value: { value: '#ff8800' },
  stamp: '018c2a5b7e00:0002:12D3KooWpeer',
  origin: '12D3KooWpeer',
  actor: ID,
};
const pose = { position: { x: 1, y: 0, z: -2 }, rotation: { x: 0, y: 1.5, z: 0 } };

describe('gossip codec', () => {
  it('round-trips every message', () => {
    for (const op of [objectOp, attributeOp, { ...attributeOp, value: null }]) {
      expect(decodeOp(encodeOp(op), MAX)).toEqual(op);
    }
    const people: PeopleMessage[] = [
      { t: 'join', person: { id: ID, name: 'Ann', isGuest: true, pose } },
      { t: 'leave', userId: ID },
      { t: 'roster', people: [{ id: ID, name: 'Ann', isGuest: false, pose }], complete: true },
      { t: 'join', person: { id: ID, name: 'Ann', isGuest: true, pose }, at: 1_764_000_000_000 },
      { t: 'leave', userId: ID, at: 0 },
      { t: 'roster', people: [], complete: false, at: 42 },
      { t: 'highfive', from: ID, to: WORLD, message: 'hi' },
      { t: 'lock', objectId: ID, userId: WORLD, stamp: objectOp.stamp, locked: true },
    ];
    for (const m of people) expect(decodePeople(encodePeople(m), MAX)).toEqual(m);
    const announcement = {
      name: 'n',
      url: 'http://127.0.0.1:4000',
      version: '0.1.0',
      worlds: [{ id: WORLD, name: 'Plaza', ownerId: '', online: 3 }],
      at: 1,
    };
    expect(decodeAnnouncement(encodeAnnouncement(announcement), MAX)).toEqual(announcement);
    const request = { worldId: WORLD, digests: [[ID, 'abc'] as [string, string]] };
    expect(decodeSyncRequest(encodeSyncRequest(request), MAX)).toEqual(request);
    const frames: SyncFrame[] = [
      { t: 'ops', ops: [objectOp] },
      { t: 'end', objects: 2 },
      { t: 'refused', reason: 'x' },
    ];
    for (const f of frames) {
      expect(decodeSyncFrame(encodeSyncFrame(f), MAX)).toEqual(f);
    }
  });

  it('refuses what is too large, of another version, or of a bad shape, with a reason', () => {
    const reason = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(GossipDecodeError);
        return (e as GossipDecodeError).reason;
      }
      return 'accepted';
    };
    expect(reason(() => decodeOp(encodeOp(objectOp), 10))).toBe('too_large');
    expect(reason(() => decodeOp(encodeCbor({ v: 2, op: objectOp }), MAX))).toBe('bad_version');
    expect(reason(() => decodeOp(encodeCbor([1, 2]), MAX))).toBe('not_a_map');
    expect(reason(() => decodeOp(encodeOp({ ...attributeOp, name: 'a!b' }), MAX))).toBe('bad_field');
    expect(reason(() => decodeOp(encodeOp({ ...objectOp, objectId: '../x' }), MAX))).toBe('bad_field');
    expect(reason(() => decodePeople(encodeCbor({ v: 1, t: 'join', person: { id: ID } }), MAX))).toBe(
      'bad_field',
    );
    expect(reason(() => decodePeople(encodeCbor({ v: 1, t: 'nuke' }), MAX))).toBe('bad_kind');
    const infinite = {
      t: 'join',
      person: { id: ID, name: 'x', isGuest: true, pose: { ...pose, position: { x: Infinity, y: 0, z: 0 } } },
    };
    expect(reason(() => decodePeople(encodeCbor({ v: 1, ...infinite }), MAX))).toBe('bad_field');
    for (const at of [-1, 1.5, '1', Number.MAX_SAFE_INTEGER + 2, null])
      expect(reason(() => decodePeople(encodeCbor({ v: 1, t: 'leave', userId: ID, at }), MAX))).toBe(
        'bad_field',
      );
  });

  it('random bytes decode to a message or GossipDecodeError, nothing else', () => {
    const decoders = [decodeOp, decodePeople, decodeAnnouncement, decodeSyncRequest, decodeSyncFrame];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const decode of decoders) {
          try {
            decode(bytes, MAX);
          } catch (e) {
            if (!(e instanceof GossipDecodeError)) throw e;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('announcements: region, geo and load round-trip, are optional (earlier builds), and are range-checked', () => {
    const base = { v: 1, name: 'n', url: '', version: '0.1.0', worlds: [], at: 1 };
    const full = {
      name: 'n',
      url: 'https://node.example',
      version: '0.2.0',
      region: 'eu-central',
      geo: { lat: 52.52, lon: 13.4 },
      load: { sessions: 3, maxSessions: 1000, cpu: 0.25 },
      worlds: [],
      at: 1,
    };
    expect(decodeAnnouncement(encodeAnnouncement(full), MAX)).toEqual(full);
    const older = decodeAnnouncement(encodeCbor(base), MAX);
    expect(Object.keys(older).sort()).toEqual(['at', 'name', 'url', 'version', 'worlds']);
    const reason = (extra: Record<string, unknown>) => {
      try {
        decodeAnnouncement(encodeCbor({ ...base, ...extra }), MAX);
        return 'decoded';
      } catch (e) {
        return (e as GossipDecodeError).message;
      }
    };
    expect(reason({ region: 'x'.repeat(65) })).toBe('bad_field: region');
    expect(reason({ geo: { lat: 91, lon: 0 } })).toBe('bad_field: lat');
    expect(reason({ geo: { lat: 0, lon: -180.5 } })).toBe('bad_field: lon');
    expect(reason({ geo: '52,13' })).toBe('bad_field: geo');
    expect(reason({ load: { sessions: 1.5, maxSessions: 10, cpu: 0 } })).toBe('bad_field: sessions');
    expect(reason({ load: { sessions: 1, maxSessions: 0, cpu: 0 } })).toBe('bad_field: maxSessions');
    expect(reason({ load: { sessions: 1, maxSessions: 10, cpu: -1 } })).toBe('bad_field: cpu');
    expect(reason({ load: { sessions: 1, maxSessions: 10, cpu: 0.5 } })).toBe('decoded');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, joinUsersTransformLists, type UserTransform } from '../../protocol/posbus/index.ts';

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true });
const vec3 = fc.record({ x: f32, y: f32, z: f32 });
const user: fc.Arbitrary<UserTransform> = fc.record({
  id: fc.uuid(),
  transform: fc.record({ position: vec3, rotation: vec3 }),
});

const usersOf = (frame: Uint8Array) => {
  const m = decode(frame);
  if (m.type !== 'UsersTransformList') throw new Error(m.type);
  return m.value;
};

describe('joining UsersTransformList frames', () => {
  it('keeps every user in order, at most maxUsers per frame, and each frame decodes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(user, { maxLength: 30 }), { maxLength: 9 }),
        fc.integer({ min: 30, max: 80 }),
        (lists, max) => {
          const frames = lists.map((value) => encode({ type: 'UsersTransformList', value }));
          const joined = joinUsersTransformLists(frames, max);
          const all = joined.flatMap(usersOf);
          expect(all).toEqual(lists.flat());
          for (const frame of joined)
            expect(usersOf(frame).length).toBeLessThanOrEqual(Math.max(max, ...lists.map((l) => l.length)));
          if (frames.length > 1 && lists.flat().length <= max) expect(joined).toHaveLength(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('produces the same bytes as encoding the joined list directly', () => {
    const a = [
      {
        id: '5b9a2f34-94c6-4d2b-8f7e-0c1d2e3f4a5b',
        transform: { position: { x: 1, y: 2, z: 3 }, rotation: { x: 0, y: 0, z: 0 } },
      },
    ];
    const b = [
      {
        id: '018b7c3e-55aa-7bbb-9ccc-ddeeff001122',
        transform: { position: { x: -170, y: 50, z: 340 }, rotation: { x: 0, y: 90, z: 0 } },
      },
    ];
    const [joined] = joinUsersTransformLists(
      [encode({ type: 'UsersTransformList', value: a }), encode({ type: 'UsersTransformList', value: b })],
      512,
    );
    expect(joined).toEqual(encode({ type: 'UsersTransformList', value: [...a, ...b] }));
  });
});

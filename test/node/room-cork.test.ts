/**
 * A member's frames of one tick leave in one socket write: Room.tick corks the member around its sends
 * (joins, leaves, positions) when there is more than one, and the frames are the same, in the same order,
 * as without. The members
 * are stand-ins recording what a PosBus session is asked to do (the real session's cork is ws's socket
 * cork, exercised by the session and backpressure tests over real sockets).
 */
import { describe, expect, it } from 'vitest';
import { Room } from '../../node/world/room.ts';
import { decode, encode, type UserTransform } from '../../protocol/posbus/index.ts';
import { standInMember } from '../support/room-member.ts';

const member = (id: number, corks: boolean) => standInMember(id, { corks });

const pose = (x: number) => ({ position: { x, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 } });

describe('Room tick: one write per member', () => {
  it('corks each member around all its frames of a tick, frames unchanged and in order', () => {
    // batchSize 2 and 5 users: three UsersTransformList frames per member.
    const room = new Room('w', { batchSize: 2, entryBatchSize: 100, refreshMs: 1000, interestCellSize: 0 });
    const members = [0, 1, 2, 3, 4].map((i) => member(i, i !== 4));
    members.forEach((m, i) => {
      room.add(m, pose(i));
    });
    room.tick(1000);
    for (const m of members) {
      const corked = m.cork !== undefined;
      const frames = m.events.filter((e): e is Uint8Array => e instanceof Uint8Array);
      expect(m.events).toEqual(corked ? ['cork', ...frames, 'uncork'] : frames);
      const messages = frames.map((f) => decode(f));
      // The ones who entered before others were added: one AddUsers first (the last one in learnt of
      // everyone on its entry, outside the tick), then the three lists.
      const adds = m === members[4] ? [] : ['AddUsers'];
      expect(messages.map((x) => x.type)).toEqual([
        ...adds,
        'UsersTransformList',
        'UsersTransformList',
        'UsersTransformList',
      ]);
      const listed = messages.flatMap((x) => (x.type === 'UsersTransformList' ? x.value : []));
      expect(listed.map((e) => e.id)).toEqual(members.map((o) => o.user.id));
      // Byte for byte the frames of an uncorked member: corking changes the writes, not the wire.
      const expected: UserTransform[] = members.map((o, i) => ({ id: o.user.id, transform: pose(i) }));
      expect(frames.slice(adds.length)).toEqual([
        encode({ type: 'UsersTransformList', value: expected.slice(0, 2) }),
        encode({ type: 'UsersTransformList', value: expected.slice(2, 4) }),
        encode({ type: 'UsersTransformList', value: expected.slice(4) }),
      ]);
    }
  });

  it('uncorks a member even when a send throws', () => {
    const room = new Room('w', { batchSize: 1, entryBatchSize: 100, refreshMs: 1000, interestCellSize: 0 });
    const m = member(1, true);
    m.sendDroppable = () => {
      throw new Error('socket gone');
    };
    room.add(m, pose(0));
    room.add(member(2, false), pose(1)); // two lists for m (batchSize 1): corked
    expect(() => room.tick(1000)).toThrow('socket gone');
    expect(m.events[0]).toBe('cork');
    expect(m.events.at(-1)).toBe('uncork');
  });

  it('leaves a member with one frame and no joins or leaves uncorked: one send is one write already', () => {
    const room = new Room('w', { batchSize: 512, entryBatchSize: 100, refreshMs: 1000, interestCellSize: 0 });
    const a = member(1, true);
    const b = member(2, true);
    room.add(a, pose(0));
    room.add(b, pose(1));
    room.tick(1000); // a learns of b (AddUsers) and gets the list: corked
    expect(a.events[0]).toBe('cork');
    expect(a.events.at(-1)).toBe('uncork');
    a.events.length = 0;
    room.moveSeat(b.seat as NonNullable<typeof b.seat>, pose(2));
    room.tick(1100); // b's move alone: one frame
    expect(a.events).toHaveLength(1);
    expect(a.events[0]).toBeInstanceOf(Uint8Array);
  });

  it('re-sends users who stand still together, once per refresh period', () => {
    const room = new Room('w', { batchSize: 512, entryBatchSize: 100, refreshMs: 1000, interestCellSize: 0 });
    const a = member(1, false);
    const b = member(2, false);
    room.add(a, pose(0));
    room.tick(1050); // a's entry: sent as a mover
    room.add(b, pose(1));
    room.tick(1550); // b's entry
    a.events.length = 0;
    for (let t = 1650; t < 2000; t += 100) room.tick(t);
    expect(a.events).toEqual([]); // nobody moved, nobody due before the boundary
    room.tick(2050);
    // Both refreshed in the same tick (each on its own phase, b would be due only at 2,550).
    const lists = a.events.map((f) => decode(f as Uint8Array));
    expect(lists).toHaveLength(1);
    expect(lists[0].type === 'UsersTransformList' && lists[0].value.map((e) => e.id)).toEqual([
      a.user.id,
      b.user.id,
    ]);
    a.events.length = 0;
    for (let t = 2150; t < 3000; t += 100) room.tick(t);
    expect(a.events).toEqual([]);
    room.tick(3050);
    expect(a.events).toHaveLength(1);
  });
});

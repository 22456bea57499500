/**
 * A member's seat (`Member.seat`): set by the room that adds it, cleared when it leaves or a newer member
 * of its user replaces it, and what a move goes to (UserController.move → Room.moveSeat). A stale seat
 * moves nothing: a replaced session must not move the avatar its successor now holds. Members are
 * stand-ins (test/support/room-member.ts); sessions over real sockets are in posbus-hostile.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Room } from '../../node/world/room.ts';
import { decode } from '../../protocol/posbus/index.ts';
import { positionsSent, standInMember } from '../support/room-member.ts';

const pose = (x: number) => ({ position: { x, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 } });
const options = { batchSize: 512, entryBatchSize: 100, refreshMs: 60_000, interestCellSize: 0 };

describe('Room seats', () => {
  it('seats a member on add, moves it by its seat, and unseats it on remove', () => {
    const room = new Room('w', options);
    const watcher = standInMember(1);
    const mover = standInMember(2);
    room.add(watcher, pose(0));
    room.add(mover, pose(0));
    expect(mover.seat?.room).toBe(room);
    room.moveSeat(mover.seat as NonNullable<typeof mover.seat>, pose(3));
    room.tick(1000);
    expect(positionsSent(watcher, mover.user.id)).toEqual([3]);

    const seat = mover.seat as NonNullable<typeof mover.seat>;
    room.remove(mover.user.id);
    expect(mover.seat).toBeUndefined();
    room.moveSeat(seat, pose(9));
    room.tick(1100);
    expect(positionsSent(watcher, mover.user.id)).toEqual([3]);
  });

  it('unseats a member replaced by a newer one of its user: the old seat moves nothing', () => {
    const room = new Room('w', options);
    const watcher = standInMember(1);
    const first = standInMember(2);
    const second = standInMember(2); // the same user, a newer connection
    room.add(watcher, pose(0));
    room.add(first, pose(0));
    const stale = first.seat as NonNullable<typeof first.seat>;
    room.add(second, pose(5));
    expect(first.seat).toBeUndefined();
    expect(second.seat?.room).toBe(room);
    room.tick(1000);
    room.moveSeat(stale, pose(-7));
    room.tick(1100);
    expect(positionsSent(watcher, second.user.id)).toEqual([5]);
  });

  it('with interest management, a stale seat crossing cells puts no ghost in view', () => {
    const room = new Room('w', { ...options, interestCellSize: 100 });
    const far = standInMember(1);
    const first = standInMember(2);
    room.add(far, pose(1000));
    room.add(first, pose(0));
    const stale = first.seat as NonNullable<typeof first.seat>;
    room.remove(first.user.id);
    room.tick(1000);
    room.moveSeat(stale, pose(1000)); // into far's cell
    room.tick(1100);
    const added = far.events
      .filter((e): e is Uint8Array => e instanceof Uint8Array)
      .map((f) => decode(f))
      .flatMap((m) => (m.type === 'AddUsers' ? m.users.map((u) => u.id) : []));
    expect(added).not.toContain(first.user.id);
    expect(positionsSent(far, first.user.id)).toEqual([]);
  });

  it('a seat of another room moves nothing here: no ghost in its view', () => {
    const here = new Room('w', { ...options, interestCellSize: 100 });
    const there = new Room('v', { ...options, interestCellSize: 100 });
    const watcher = standInMember(1);
    const mover = standInMember(2);
    here.add(watcher, pose(1000));
    there.add(mover, pose(0));
    here.tick(1000);
    here.moveSeat(mover.seat as NonNullable<typeof mover.seat>, pose(1000)); // into watcher's cell
    here.tick(1100);
    const added = watcher.events
      .filter((e): e is Uint8Array => e instanceof Uint8Array)
      .map((f) => decode(f))
      .flatMap((m) => (m.type === 'AddUsers' ? m.users.map((u) => u.id) : []));
    expect(added).not.toContain(mover.user.id);
    expect(positionsSent(watcher, mover.user.id)).toEqual([]);
  });
});

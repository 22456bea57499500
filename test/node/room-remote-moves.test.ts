/**
 * Remote people's moves go out as their node's positions arrive (Room.sendRemoteMoves), but each such send
 * is a write to every member who sees them: past REMOTE_SENDS_PER_TICK between two ticks (positions from
 * many peers), the rest wait for the tick, which sends the latest pose. The local member is a stand-in
 * (test/support/room-member.ts); the cross-node path over real nodes is in
 * test/federation/positions.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { RemoteMember, remoteUser } from '../../node/world/remote-member.ts';
import { REMOTE_SENDS_PER_TICK, Room } from '../../node/world/room.ts';
import { positionsSent, standInMember } from '../support/room-member.ts';

const pose = (x: number) => ({ position: { x, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 } });

/** A room without interest management and one local member in it, who sees every remote mover. */
function roomWithLocalMember() {
  const room = new Room('w', { batchSize: 512, entryBatchSize: 100, refreshMs: 60_000, interestCellSize: 0 });
  const local = standInMember(1);
  room.add(local, pose(0));
  return { room, local };
}

describe('Room: remote moves on arrival', () => {
  it('sends at most REMOTE_SENDS_PER_TICK times between ticks; the tick sends the latest pose', () => {
    const { room, local } = roomWithLocalMember();
    const peers = Array.from({ length: 10 }, (_, i) => {
      const user = remoteUser(
        `00000000-0000-4000-8000-0000000001${String(i).padStart(2, '0')}`,
        `r${i}`,
        true,
      );
      room.add(new RemoteMember(user, `peer-${i}`, () => {}), pose(0));
      return user.id;
    });
    room.tick(1000);
    local.events.length = 0;

    // Ten peers' positions arrive between two ticks, one after the other.
    peers.forEach((id, i) => {
      room.move(id, pose(i + 1));
      room.sendRemoteMoves(1010 + i);
    });
    expect(local.events).toHaveLength(REMOTE_SENDS_PER_TICK);
    peers.forEach((id, i) => {
      expect(positionsSent(local, id)).toEqual(i < REMOTE_SENDS_PER_TICK ? [i + 1] : []);
    });

    // The tick sends what waited, once, and nothing twice.
    room.tick(1100);
    peers.forEach((id, i) => {
      expect(positionsSent(local, id)).toEqual([i + 1]);
    });

    // After the tick, arrivals go out at once again.
    room.move(peers[9], pose(42));
    room.sendRemoteMoves(1110);
    expect(positionsSent(local, peers[9])).toEqual([10, 42]);
  });

  it('counts only sends that sent something', () => {
    const { room, local } = roomWithLocalMember();
    const remote = remoteUser('00000000-0000-4000-8000-000000000200', 'r', true);
    room.add(new RemoteMember(remote, 'peer', () => {}), pose(0));
    room.tick(1000);
    local.events.length = 0;
    for (let i = 0; i < 10; i++) room.sendRemoteMoves(1001 + i); // nothing moved
    room.move(remote.id, pose(5));
    room.sendRemoteMoves(1020);
    expect(positionsSent(local, remote.id)).toEqual([5]);
  });
});

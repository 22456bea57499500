/**
 * The live side of one world: who is in it, where they are, who holds which lock, and the position tick.
 * The tick encodes the movers once per grid cell; each member gets the cells around it joined into one
 * frame (copied, not re-encoded), so encoding is O(users) and a member gets only the users near it.
 */
import {
  encode,
  joinUsersTransformLists,
  type TransformNoScale,
  type UserTransform,
} from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';

/** What a world needs from a connected user; implemented by a PosBus session. */
export interface Member {
  readonly user: UserRecord;
  /** False once the connection ended or was replaced: such a member must not (re)enter a world. */
  readonly connected: boolean;
  /** Reliable delivery: queued up to a bound, past which the member is disconnected. */
  sendReliable(frame: Uint8Array): void;
  /** Position delivery: false when the member is backlogged and the frame was dropped. */
  sendDroppable(frame: Uint8Array): boolean;
  /** True while position frames would be dropped (the connection has not caught up). */
  readonly backlogged: boolean;
  /** True for a person on another node (world/remote-member.ts): shown here, served there. */
  readonly remote?: boolean;
}

interface Presence {
  member: Member;
  /** Reused for every tick: the tick encodes it as is, without copying. */
  entry: UserTransform;
  moved: boolean;
  lastSentAt: number;
  /** A position frame was dropped for this member: it gets everyone's positions once it catches up. */
  missed: boolean;
}

/** Grid cells are keyed by one number: (cx + OFFSET) * SPAN + (cz + OFFSET), exact below 2^53. */
const CELL_OFFSET = 2 ** 20;
const CELL_SPAN = 2 ** 21;
const cellKey = (cx: number, cz: number) => (cx + CELL_OFFSET) * CELL_SPAN + (cz + CELL_OFFSET);

export interface RoomOptions {
  /** Users per UsersTransformList frame; keeps a frame under the reference client's 32 KiB read limit. */
  batchSize: number;
  /** Every user is re-sent at least this often, moved or not. */
  refreshMs: number;
  /**
   * Interest management: side of a square grid cell on the ground plane (x, z). A member gets the
   * positions of users in its own cell and the eight around it. 0 = everyone gets everyone (the original).
   */
  interestCellSize: number;
}

export class Room {
  readonly worldId: string;
  private readonly presences = new Map<string, Presence>();
  /** objectId → userId of the lock holder */
  readonly locks = new Map<string, string>();
  private readonly options: RoomOptions;

  constructor(worldId: string, options: RoomOptions) {
    this.worldId = worldId;
    this.options = options;
  }

  get size(): number {
    return this.presences.size;
  }

  has(userId: string): boolean {
    return this.presences.has(userId);
  }

  member(userId: string): Member | undefined {
    return this.presences.get(userId)?.member;
  }

  members(): IterableIterator<Member> {
    return Array.from(this.presences.values(), (p) => p.member).values();
  }

  /** Current poses of everyone in the room. */
  transforms(): IterableIterator<UserTransform> {
    return Array.from(this.presences.values(), (p) => p.entry).values();
  }

  transformOf(userId: string): TransformNoScale | undefined {
    return this.presences.get(userId)?.entry.transform;
  }

  add(member: Member, pose: TransformNoScale): void {
    this.presences.set(member.user.id, {
      member,
      entry: { id: member.user.id, transform: clonePose(pose) },
      moved: true,
      lastSentAt: 0,
      missed: false,
    });
  }

  remove(userId: string): Presence | undefined {
    const presence = this.presences.get(userId);
    this.presences.delete(userId);
    return presence;
  }

  /** Records a user's latest pose; only the latest one before a tick is sent. */
  move(userId: string, pose: TransformNoScale): void {
    const presence = this.presences.get(userId);
    if (!presence) return;
    copyPose(presence.entry.transform, pose);
    presence.moved = true;
  }

  /** The poses of the members connected to this node (what it publishes to other nodes). */
  *localPresences(): Generator<{ member: Member; transform: TransformNoScale }> {
    for (const presence of this.presences.values()) {
      if (!presence.member.remote) yield { member: presence.member, transform: presence.entry.transform };
    }
  }

  broadcast(frame: Uint8Array, except?: string): void {
    for (const [userId, presence] of this.presences) {
      if (userId !== except) presence.member.sendReliable(frame);
    }
  }

  /**
   * Sends the movers, and users due a refresh, to the members who can see them. Each grid cell's movers are
   * encoded once; a member gets the frames of its neighbourhood joined into one.
   */
  tick(now: number): void {
    const moved = this.encodeCells(now, true);
    let everyone: Map<number, Uint8Array[]> | undefined;
    for (const presence of this.presences.values()) {
      if (presence.member.remote) continue;
      if (presence.missed) {
        // Latest wins: a member that missed frames gets the current picture of its neighbourhood instead of
        // the backlog — once it has caught up; until then nothing is encoded for it.
        if (presence.member.backlogged) continue;
        everyone ??= this.encodeCells(now, false);
        presence.missed = !this.sendNeighbourhood(presence, everyone);
      } else if (moved.size) {
        presence.missed = !this.sendNeighbourhood(presence, moved);
      }
    }
  }

  /** UsersTransformList frames per grid cell: of the movers (and users due a refresh), or of everyone. */
  private encodeCells(now: number, onlyMovers: boolean): Map<number, Uint8Array[]> {
    const due = now - this.options.refreshMs;
    const byCell = new Map<number, UserTransform[]>();
    for (const presence of this.presences.values()) {
      if (onlyMovers) {
        if (!presence.moved && presence.lastSentAt > due) continue;
        presence.moved = false;
        presence.lastSentAt = now;
      }
      const key = this.cellOf(presence);
      const users = byCell.get(key);
      if (users) users.push(presence.entry);
      else byCell.set(key, [presence.entry]);
    }
    const frames = new Map<number, Uint8Array[]>();
    const size = this.options.batchSize;
    for (const [key, users] of byCell) {
      const list: Uint8Array[] = [];
      for (let i = 0; i < users.length; i += size) {
        list.push(
          encode({
            type: 'UsersTransformList',
            value: users.length <= size ? users : users.slice(i, i + size),
          }),
        );
      }
      frames.set(key, list);
    }
    return frames;
  }

  private cellOf(presence: Presence): number {
    const size = this.options.interestCellSize;
    if (size <= 0) return 0;
    const { x, z } = presence.entry.transform.position;
    return cellKey(Math.floor(x / size), Math.floor(z / size));
  }

  /** Sends the frames of the member's cell and the eight around it; false when one was dropped. */
  private sendNeighbourhood(presence: Presence, frames: Map<number, Uint8Array[]>): boolean {
    const size = this.options.interestCellSize;
    if (size <= 0) return sendAll(presence.member, frames.get(0));
    const { x, z } = presence.entry.transform.position;
    const cx = Math.floor(x / size);
    const cz = Math.floor(z / size);
    const parts: Uint8Array[] = [];
    for (let dx = -1; dx <= 1; dx++) {
      for (let dz = -1; dz <= 1; dz++) {
        const cell = frames.get(cellKey(cx + dx, cz + dz));
        if (cell) for (const frame of cell) parts.push(frame);
      }
    }
    // One write per member per tick: socket writes, not encoding, are what the tick costs (docs/benchmarks.md).
    return sendAll(presence.member, joinUsersTransformLists(parts, this.options.batchSize));
  }
}

function sendAll(member: Member, frames: Uint8Array[] | undefined): boolean {
  if (!frames) return true;
  for (const frame of frames) if (!member.sendDroppable(frame)) return false;
  return true;
}

function clonePose(pose: TransformNoScale): TransformNoScale {
  return { position: { ...pose.position }, rotation: { ...pose.rotation } };
}

function copyPose(target: TransformNoScale, source: TransformNoScale): void {
  target.position.x = source.position.x;
  target.position.y = source.position.y;
  target.position.z = source.position.z;
  target.rotation.x = source.rotation.x;
  target.rotation.y = source.rotation.y;
  target.rotation.z = source.rotation.z;
}

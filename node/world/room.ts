/**
 * The live side of one world: who is in it, where they are, who holds which lock, and the position tick.
 * The tick encodes ONE UsersTransformList per batch of movers and hands the same bytes to every member.
 */
import { encode, type TransformNoScale, type UserTransform } from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';

/** What a world needs from a connected user; implemented by a PosBus session. */
export interface Member {
  readonly user: UserRecord;
  /** Reliable delivery: queued up to a bound, past which the member is disconnected. */
  sendReliable(frame: Uint8Array): void;
  /** Position delivery: false when the member is backlogged and the frame was dropped. */
  sendDroppable(frame: Uint8Array): boolean;
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

export interface RoomOptions {
  /** Users per UsersTransformList frame; keeps a frame under the reference client's 32 KiB read limit. */
  batchSize: number;
  /** Every user is re-sent at least this often, moved or not. */
  refreshMs: number;
}

export class Room {
  readonly worldId: string;
  private readonly presences = new Map<string, Presence>();
  /** objectId → userId of the lock holder */
  readonly locks = new Map<string, string>();
  private readonly options: RoomOptions;
  private readonly batch: UserTransform[] = [];

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

  broadcast(frame: Uint8Array, except?: string): void {
    for (const [userId, presence] of this.presences) {
      if (userId !== except) presence.member.sendReliable(frame);
    }
  }

  /** Sends the movers, and users due a refresh, to everyone in the room. */
  tick(now: number): void {
    const frames = this.encodeMovers(now);
    let full: Uint8Array[] | undefined;
    for (const presence of this.presences.values()) {
      if (presence.missed) {
        // Latest wins: a member that missed frames gets the full current picture instead of the backlog.
        full ??= this.encodeAll();
        presence.missed = !sendAll(presence.member, full);
      } else if (frames.length) {
        presence.missed = !sendAll(presence.member, frames);
      }
    }
  }

  private encodeMovers(now: number): Uint8Array[] {
    const due = now - this.options.refreshMs;
    const frames: Uint8Array[] = [];
    for (const presence of this.presences.values()) {
      if (!presence.moved && presence.lastSentAt > due) continue;
      presence.moved = false;
      presence.lastSentAt = now;
      this.batch.push(presence.entry);
      if (this.batch.length === this.options.batchSize) frames.push(this.flushBatch());
    }
    if (this.batch.length) frames.push(this.flushBatch());
    return frames;
  }

  private flushBatch(): Uint8Array {
    const frame = encode({ type: 'UsersTransformList', value: this.batch });
    this.batch.length = 0;
    return frame;
  }

  private encodeAll(): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (const presence of this.presences.values()) {
      this.batch.push(presence.entry);
      if (this.batch.length === this.options.batchSize) frames.push(this.flushBatch());
    }
    if (this.batch.length) frames.push(this.flushBatch());
    return frames;
  }
}

function sendAll(member: Member, frames: Uint8Array[]): boolean {
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

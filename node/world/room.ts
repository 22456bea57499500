/**
 * The live side of one world: who is in it, where they are, who holds which lock, and the position tick.
 * Interest management (interest.ts) decides who sees whom. The tick encodes the movers once per grid cell
 * and joins the cells around a cell into one frame once (copied, not re-encoded), which every member of
 * that cell is sent: encoding is O(users), and a member gets only the users near it. Joins and leaves go only to those who see them: a
 * member is told a user entered its view (AddUsers) before that user's first position, and that the user
 * left it (RemoveUsers) after its last one.
 */
import {
  encode,
  joinUsersTransformLists,
  type TransformNoScale,
  type UserData,
  type UserTransform,
} from '../../protocol/posbus/index.ts';
import type { UserRecord } from '../../storage/db/records.ts';
import { InterestGrid } from './interest.ts';
import { userData } from './wire.ts';
import { DEFAULT_WORLD_BOUND } from './world-rules.ts';

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
  /**
   * Holds the member's writes until `uncork`, so that the frames sent in between (a tick's joins, leaves
   * and positions; a world's entry frames) leave in one socket write: the same bytes, fewer syscalls.
   */
  cork?(): void;
  uncork?(): void;
  /**
   * Where the member stands while it is in a room: set by the room that adds it, cleared when it leaves
   * (or is replaced by a newer member of its user). A move goes straight to it: two lookups by user id
   * per move were the node's largest cost above the floor's (docs/benchmarks.md).
   */
  seat?: Seat | undefined;
}

/** A member's place in a room (`Member.seat`): what `Room.moveSeat` moves. */
export interface Seat {
  readonly room: Room;
}

interface Presence extends Seat {
  member: Member;
  /** Removed from the room: a seat its member still holds (a replaced session's) moves nothing. */
  left: boolean;
  /** Reused for every tick: the tick encodes it as is, without copying. */
  entry: UserTransform;
  moved: boolean;
  lastSentAt: number;
  /** A position frame was dropped for this member: it gets everyone's positions once it catches up. */
  missed: boolean;
  /** The interest cell the member is in. */
  cell: number;
  /**
   * Users who came into (their presence) or went out of (null) this member's view since the last tick,
   * told at the next tick before its positions: one AddUsers and one RemoveUsers frame per tick at most.
   */
  viewChanges: Map<string, Presence | null> | undefined;
}

export interface RoomOptions {
  /** Users per UsersTransformList frame; keeps a frame under the reference client's 32 KiB read limit. */
  batchSize: number;
  /** Users per AddUsers frame. */
  entryBatchSize: number;
  /** Every user is re-sent at least this often, moved or not. */
  refreshMs: number;
  /**
   * Interest management: side of a square grid cell on the ground plane (x, z). A member gets the
   * positions, joins and leaves of users in its own cell and the eight around it. 0 = everyone gets
   * everyone (the original).
   */
  interestCellSize: number;
}

/** On-arrival sends of remote moves a room makes between two of its ticks (`Room.sendRemoteMoves`). */
export const REMOTE_SENDS_PER_TICK = 4;

export class Room {
  readonly worldId: string;
  /**
   * The world's bound (world-rules.ts `worldBound`), kept by the world controller as the world's root
   * changes: every move is checked against it, and a lookup of the root per move is measurable.
   */
  bound = DEFAULT_WORLD_BOUND;
  private readonly presences = new Map<string, Presence>();
  /** objectId → userId of the lock holder */
  readonly locks = new Map<string, string>();
  private readonly options: RoomOptions;
  private readonly grid: InterestGrid<Presence>;

  constructor(worldId: string, options: RoomOptions) {
    this.worldId = worldId;
    this.options = options;
    this.grid = new InterestGrid(options.interestCellSize);
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

  /** The users `userId` sees (itself included), as AddUsers entries: what a newcomer is sent on entry. */
  inViewOf(userId: string): UserData[] {
    const presence = this.presences.get(userId);
    if (!presence) return [];
    return Array.from(this.grid.around(presence.cell), (p) => userData(p.member.user, p.entry.transform));
  }

  /**
   * A member about to be sent its whole view again (a resume snapshot): the joins and leaves it was still
   * owed are in that picture, so they are dropped rather than sent twice.
   */
  resetView(userId: string): void {
    const presence = this.presences.get(userId);
    if (presence) presence.viewChanges = undefined;
  }

  /** Adds a member; the members who see it are told at the next tick (the newcomer asks `inViewOf`). */
  add(member: Member, pose: TransformNoScale): void {
    if (this.presences.has(member.user.id)) this.remove(member.user.id);
    const transform = clonePose(pose);
    const presence: Presence = {
      room: this,
      member,
      left: false,
      entry: { id: member.user.id, transform },
      moved: true,
      lastSentAt: 0,
      missed: false,
      cell: this.grid.cellAt(transform.position.x, transform.position.z),
      viewChanges: undefined,
    };
    this.presences.set(member.user.id, presence);
    member.seat = presence;
    for (const viewer of this.grid.around(presence.cell)) entersView(viewer, presence);
    this.grid.insert(presence, presence.cell);
  }

  /** Removes a member; the members who saw it are told at the next tick. */
  remove(userId: string): Presence | undefined {
    const presence = this.presences.get(userId);
    if (!presence) return undefined;
    this.presences.delete(userId);
    presence.left = true;
    if (presence.member.seat === presence) presence.member.seat = undefined;
    this.grid.delete(presence, presence.cell);
    for (const viewer of this.grid.around(presence.cell)) leavesView(viewer, userId);
    return presence;
  }

  /** Records a user's latest pose; only the latest one before a tick is sent. */
  move(userId: string, pose: TransformNoScale): void {
    const presence = this.presences.get(userId);
    if (presence) this.movePresence(presence, pose);
  }

  /** `move` of a member by its seat (`Member.seat`, set by this room): no lookup. */
  moveSeat(seat: Seat, pose: TransformNoScale): void {
    // A seat is only ever a presence of the room it names (set in `add`); one that left moves nothing (a
    // ghost in the grid otherwise, were it to cross a cell line).
    if (seat.room === this && !(seat as Presence).left) this.movePresence(seat as Presence, pose);
  }

  private movePresence(presence: Presence, pose: TransformNoScale): void {
    copyPose(presence.entry.transform, pose);
    presence.moved = true;
    if (this.grid.cellSize === 0) return;
    const cell = this.grid.cellAt(pose.position.x, pose.position.z);
    if (cell !== presence.cell) this.changeCell(presence, cell);
  }

  /** A member crossed a cell line: those it now sees and who now see it meet; those out of view part. */
  private changeCell(presence: Presence, cell: number): void {
    const from = presence.cell;
    this.grid.delete(presence, from);
    for (const { item: other, visible } of this.grid.crossing(from, cell)) {
      if (visible) {
        entersView(other, presence);
        entersView(presence, other);
      } else {
        leavesView(other, presence.entry.id);
        leavesView(presence, other.entry.id);
      }
    }
    presence.cell = cell;
    this.grid.insert(presence, cell);
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
   * Tells every member who came into and went out of its view, then sends the movers, and users due a
   * refresh, to the members who can see them. Each grid cell's movers are encoded once; a member gets the
   * frames of its neighbourhood joined into one.
   */
  tick(now: number): void {
    this.remoteSends = 0;
    this.deliver(now, this.encodeCells(now, 'movers'), true);
  }

  /** `sendRemoteMoves` that sent since the last tick (REMOTE_SENDS_PER_TICK). */
  private remoteSends = 0;

  /**
   * Sends the moves of remote people recorded since the last tick to the members who see them, now: as
   * their node's positions arrive, instead of at this room's next tick, whose phase against that node's
   * tick is chance (up to a whole tick more across nodes). Local movers and refreshes wait for the tick;
   * a member that missed frames gets everything at the tick, as it would.
   */
  sendRemoteMoves(now: number): void {
    // Each send is a socket write to every member who sees a remote mover, and positions arrive once per
    // tick from each peer (and batch) holding people here: past a few per tick, the rest wait for the tick,
    // so a world spread over many nodes costs its members a bounded number of writes.
    if (this.remoteSends >= REMOTE_SENDS_PER_TICK) return;
    const moved = this.encodeCells(now, 'remote movers');
    if (!moved.size) return;
    this.remoteSends++;
    this.deliver(now, moved, false);
  }

  /** Each local member: its view changes, then the frames of its neighbourhood (of everyone, if it missed some and `catchUp`). */
  private deliver(now: number, moved: Map<number, Uint8Array[]>, catchUp: boolean): void {
    // Without interest management every member gets the same frames: looked up once.
    const all = this.grid.cellSize === 0 ? moved.get(0) : undefined;
    let everyone: Map<number, Uint8Array[]> | undefined;
    // Members of one cell see the same neighbourhood: its frames are joined once per tick, for the first
    // of them, and the same buffers go to the others (~11 per cell in a crowd of 5,000: one copy, not 11).
    const joinedMoved = new Map<number, Uint8Array[]>();
    let joinedEveryone: Map<number, Uint8Array[]> | undefined;
    for (const presence of this.presences.values()) {
      const member = presence.member;
      if (member.remote) continue;
      let frames: Uint8Array[] | undefined;
      if (presence.missed) {
        // Latest wins: a member that missed frames gets the current picture of its neighbourhood instead
        // of the backlog — once it has caught up; until then nothing is encoded for it.
        if (catchUp && !member.backlogged) {
          everyone ??= this.encodeCells(now, 'everyone');
          joinedEveryone ??= new Map();
          frames = this.neighbourhoodFrames(presence.cell, everyone, joinedEveryone);
        }
      } else if (all) {
        frames = all;
      } else if (moved.size) {
        frames = this.neighbourhoodFrames(presence.cell, moved, joinedMoved);
      }
      // One write per member per tick however many frames it gets (two lists past `batchSize` users in
      // view, joins and leaves before them): socket writes are what the tick costs (docs/benchmarks.md).
      // A single frame is one write already, without the cork's buffering.
      const corks = presence.viewChanges !== undefined || (frames !== undefined && frames.length > 1);
      if (corks) member.cork?.();
      try {
        if (presence.viewChanges) this.tellViewChanges(presence);
        if (frames) presence.missed = !sendAll(member, frames);
      } finally {
        if (corks) member.uncork?.();
      }
    }
  }

  private tellViewChanges(presence: Presence): void {
    const changes = presence.viewChanges as Map<string, Presence | null>;
    presence.viewChanges = undefined;
    const removed: string[] = [];
    const added: UserData[] = [];
    for (const [userId, other] of changes) {
      if (other) added.push(userData(other.member.user, other.entry.transform));
      else removed.push(userId);
    }
    const member = presence.member;
    const size = this.options.entryBatchSize;
    for (let i = 0; i < removed.length; i += size)
      member.sendReliable(encode({ type: 'RemoveUsers', users: removed.slice(i, i + size) }));
    for (let i = 0; i < added.length; i += size)
      member.sendReliable(encode({ type: 'AddUsers', users: added.slice(i, i + size) }));
  }

  /**
   * UsersTransformList frames per grid cell: of the movers (and users due a refresh), of the remote
   * people who moved, or of everyone.
   */
  private encodeCells(
    now: number,
    which: 'movers' | 'remote movers' | 'everyone',
  ): Map<number, Uint8Array[]> {
    // Refreshes fall on common boundaries of the clock (every refreshMs), not on each user's own phase:
    // a member whose neighbours stand still gets one frame per refreshMs, not one nearly every tick (with
    // ~100 neighbours on their own phases, one is due almost every tick: a write per member per tick while
    // 5,000 people are entering). A user is still re-sent at least every refreshMs (plus one tick).
    const due = now - (now % this.options.refreshMs);
    const byCell = new Map<number, UserTransform[]>();
    for (const presence of this.presences.values()) {
      if (which !== 'everyone') {
        if (
          which === 'movers'
            ? !presence.moved && presence.lastSentAt >= due
            : !presence.moved || !presence.member.remote
        )
          continue;
        presence.moved = false;
        presence.lastSentAt = now;
      }
      const users = byCell.get(presence.cell);
      if (users) users.push(presence.entry);
      else byCell.set(presence.cell, [presence.entry]);
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

  /**
   * The frames of a cell and the eight around it, joined into as few lists as `batchSize` allows (one
   * write per member per tick: socket writes, not encoding, are what the tick costs; docs/benchmarks.md),
   * made once per cell and tick and kept in `joined` for the cell's other members.
   */
  private neighbourhoodFrames(
    cell: number,
    frames: Map<number, Uint8Array[]>,
    joined: Map<number, Uint8Array[]>,
  ): Uint8Array[] {
    const known = joined.get(cell);
    if (known) return known;
    const parts: Uint8Array[] = [];
    for (const key of this.grid.neighbourhood(cell)) {
      const list = frames.get(key);
      if (list) for (const frame of list) parts.push(frame);
    }
    const result = parts.length ? joinUsersTransformLists(parts, this.options.batchSize) : [];
    joined.set(cell, result);
    return result;
  }
}

/** `subject` came into `viewer`'s view: an AddUsers at the next tick, unless a RemoveUsers was still due. */
function entersView(viewer: Presence, subject: Presence): void {
  if (viewer === subject || viewer.member.remote) return;
  viewer.viewChanges ??= new Map();
  const changes = viewer.viewChanges;
  if (changes.get(subject.entry.id) === null) changes.delete(subject.entry.id);
  else changes.set(subject.entry.id, subject);
}

/** `userId` went out of `viewer`'s view: a RemoveUsers at the next tick, unless its AddUsers was not sent yet. */
function leavesView(viewer: Presence, userId: string): void {
  if (viewer.member.remote || viewer.entry.id === userId) return;
  viewer.viewChanges ??= new Map();
  const changes = viewer.viewChanges;
  if (changes.get(userId)) changes.delete(userId);
  else changes.set(userId, null);
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

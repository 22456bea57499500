/**
 * The live rooms of the worlds: entering and leaving (teleport), locks and object moves, people of other
 * nodes, and the tick timer of each room. Applied changes reach the rooms through change-fan-out.ts; the
 * pure rules (bounds, spawn point) are in world-rules.ts.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  encode,
  NIL_UMID,
  SignalType,
  type Transform,
  type TransformNoScale,
} from '../../protocol/posbus/index.ts';
import type { ObjectRecord } from '../../storage/db/records.ts';
import type { UserStore } from '../user/user-store.ts';
import type { Access } from './access.ts';
import { ChangeFanOut } from './change-fan-out.ts';
import type { RemoteMember } from './remote-member.ts';
import { type Member, Room, type RoomOptions } from './room.ts';
import { worldSnapshot } from './snapshot.ts';
import { objectDefinition, objectTree, renderData } from './wire.ts';
import { insideBound, isFiniteTransform, spawnPoint, worldBound } from './world-rules.ts';
import type { WorldChange, WorldState, WorldStore } from './world-store.ts';

export interface WorldControllerOptions extends RoomOptions {
  tickMs: number;
  /** Objects per AddObjects frame and users per AddUsers frame (entry, and joins at a tick). */
  entryBatchSize: number;
}

/** Where a world this node does not hold whole comes from (federation: a mirror from a peer). */
export interface WorldSource {
  /** True while the world's state here is only part of it (a mirror not pulled whole): not entered. */
  incomplete(worldId: string): boolean;
  /** Fetches the world; true when it is here whole afterwards. */
  fetch(worldId: string): Promise<boolean>;
}

export interface WorldControllerComponents {
  store: WorldStore;
  users: UserStore;
  access: Access;
  logger: Logger;
  nodeId: string;
  /** True when changes of an object attribute of this type go to everyone in the world (its `posbus_auto`). */
  relaysAttribute(pluginId: string, name: string): boolean;
  /** Told how long each world's position tick took, in seconds (the tick histogram of /metrics). */
  observeTick?: (seconds: number) => void;
}

/** What local members do that other nodes must hear of (federation listens). */
export interface WorldControllerEvents {
  entered: [worldId: string, member: Member, pose: TransformNoScale];
  left: [worldId: string, userId: string];
  lock: [worldId: string, objectId: string, userId: string, locked: boolean];
  /**
   * A room's tick sent its positions to the members here: when the local members' moves go to other
   * nodes too, so that a move waits for one timer on this node, not two.
   */
  tick: [room: Room, now: number];
}

export class WorldController extends EventEmitter<WorldControllerEvents> {
  private readonly store: WorldStore;
  private readonly users: UserStore;
  private readonly access: Access;
  private readonly observeTick: WorldControllerComponents['observeTick'];
  private readonly log: Logger;
  private readonly nodeId: string;
  private readonly options: WorldControllerOptions;
  private readonly rooms = new Map<string, Room>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** userId → the room of the world it is in (a room outlives none of its local members) */
  private readonly whereabouts = new Map<string, Room>();
  private readonly fanOut: ChangeFanOut;
  /** Rooms with remote moves not sent yet: sent once the positions that arrived together are applied. */
  private readonly remoteMoved = new Set<Room>();
  private remoteMovesDue: NodeJS.Immediate | undefined;
  private worldSource: WorldSource | undefined;

  constructor(components: WorldControllerComponents, options: WorldControllerOptions) {
    super();
    this.store = components.store;
    this.users = components.users;
    this.access = components.access;
    this.observeTick = components.observeTick;
    this.log = components.logger.child({ component: 'world' });
    this.nodeId = components.nodeId;
    this.options = options;
    this.fanOut = new ChangeFanOut({
      store: components.store,
      nodeId: components.nodeId,
      relaysAttribute: components.relaysAttribute,
      roomOf: (worldId) => this.rooms.get(worldId),
    });
  }

  start(): void {
    this.fanOut.start();
    this.store.on('change', this.onWorldChange);
  }

  /** Everyone leaves (positions saved), ticks stop. */
  async stop(): Promise<void> {
    this.fanOut.stop();
    this.store.off('change', this.onWorldChange);
    clearImmediate(this.remoteMovesDue);
    this.remoteMovesDue = undefined;
    this.remoteMoved.clear();
    await Promise.all([...this.whereabouts.keys()].map((userId) => this.leave(userId)));
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
  }

  roomOf(userId: string): Room | undefined {
    return this.whereabouts.get(userId);
  }

  worldOf(userId: string): string | undefined {
    return this.whereabouts.get(userId)?.worldId;
  }

  /** Number of users in each world with anyone in it. */
  occupancy(): Record<string, number> {
    return Object.fromEntries([...this.rooms].map(([id, room]) => [id, room.size]));
  }

  /** Sends a frame to everyone in a world; returns how many that is. */
  broadcastToWorld(worldId: string, frame: Uint8Array): number {
    const room = this.rooms.get(worldId);
    room?.broadcast(frame);
    return room?.size ?? 0;
  }

  /** Where teleports into a world this node does not hold (whole) look for it (set by federation). */
  setWorldSource(source: WorldSource | undefined): void {
    this.worldSource = source;
  }

  /**
   * A world here whole: stored, not removed, and not the part of one still being fetched (federation's
   * incomplete mirrors). What teleports enter and the REST API shows as a world of this node.
   */
  wholeWorld(worldId: string): WorldState | undefined {
    return this.worldSource?.incomplete(worldId) ? undefined : this.store.get(worldId);
  }

  /** Enters `worldId` (leaving the current world first) and streams the world to the member. */
  async teleport(member: Member, worldId: string): Promise<boolean> {
    let state = this.wholeWorld(worldId);
    if (!state && this.worldSource && (await this.worldSource.fetch(worldId).catch(() => false))) {
      state = this.wholeWorld(worldId);
    }
    if (!state) {
      member.sendReliable(encode({ type: 'Signal', value: SignalType.WorldDoesNotExist }));
      return false;
    }
    const userId = member.user.id;
    if (this.whereabouts.has(userId)) await this.leave(userId);
    const last = await this.users.lastPosition(userId, worldId);
    // The socket may have closed, or a newer session of the user taken over, during the awaits above.
    if (!member.connected) return false;
    const pose = last ? { position: last.position, rotation: last.rotation } : spawnPoint(state);
    // Everything below is synchronous: no other message can slip between the entry frames, and they leave
    // in one socket write.
    member.cork?.();
    try {
      this.enter(member, state, pose);
    } finally {
      member.uncork?.();
    }
    return true;
  }

  /** The entry frames (the world, its objects, who is in view) and the member's place in the room. */
  private enter(member: Member, state: WorldState, pose: TransformNoScale): void {
    const worldId = state.id;
    const userId = member.user.id;
    const root = state.objects.get(worldId) as ObjectRecord;
    member.sendReliable(
      encode({
        type: 'SetWorld',
        id: worldId,
        name: root.name,
        avatar: NIL_UMID,
        owner: root.ownerId || NIL_UMID,
        avatar3dAssetId: NIL_UMID,
      }),
    );
    member.sendReliable(encode({ type: 'MyTransform', ...pose }));
    const tree = objectTree(state);
    for (const chunk of chunks(tree, this.options.entryBatchSize)) {
      member.sendReliable(
        encode({ type: 'AddObjects', objects: chunk.map((o) => objectDefinition(o, this.nodeId)) }),
      );
    }
    const data = renderData(state);
    for (const object of tree) {
      const slots = data.get(object.id);
      if (slots) member.sendReliable(encode(slots));
    }
    const room = this.roomFor(worldId);
    // Those who see the newcomer are told at the room's next tick, before its first position.
    room.add(member, pose);
    this.whereabouts.set(userId, room);
    for (const chunk of chunks(room.inViewOf(userId), this.options.entryBatchSize)) {
      member.sendReliable(encode({ type: 'AddUsers', users: chunk }));
    }
    this.log.debug({ userId, worldId, users: room.size }, 'entered world');
    this.emit('entered', worldId, member, pose);
  }

  /** Leaves the current world: position saved, locks released, the others told. */
  async leave(userId: string): Promise<void> {
    const room = this.whereabouts.get(userId);
    if (!room) return;
    this.whereabouts.delete(userId);
    const worldId = room.worldId;
    const presence = room.remove(userId);
    for (const objectId of this.releaseLocksOf(room, userId))
      this.emit('lock', worldId, objectId, userId, false);
    if (room.size === 0) this.closeRoom(worldId);
    this.emit('left', worldId, userId);
    if (presence) {
      const { position, rotation } = presence.entry.transform;
      await this.users.savePosition(userId, worldId, { position, rotation, at: Date.now() });
    }
    this.log.debug({ userId, worldId }, 'left world');
  }

  lock(member: Member, objectId: string): void {
    const userId = member.user.id;
    const room = this.roomOf(userId);
    const state = room && this.store.get(room.worldId);
    if (!room || !state) return;
    const holder = room.locks.get(objectId);
    if (holder || !this.access.canEdit(member.user, state, objectId)) {
      member.sendReliable(
        encode({ type: 'LockObjectResponse', id: objectId, result: 0, lockOwner: holder ?? NIL_UMID }),
      );
      return;
    }
    room.locks.set(objectId, userId);
    room.broadcast(encode({ type: 'LockObjectResponse', id: objectId, result: 1, lockOwner: userId }));
    this.emit('lock', room.worldId, objectId, userId, true);
  }

  unlock(member: Member, objectId: string): void {
    const userId = member.user.id;
    const room = this.roomOf(userId);
    if (!room) return;
    const holder = room.locks.get(objectId);
    if (holder !== userId) {
      member.sendReliable(
        encode({ type: 'LockObjectResponse', id: objectId, result: 0, lockOwner: holder ?? NIL_UMID }),
      );
      return;
    }
    room.locks.delete(objectId);
    room.broadcast(encode({ type: 'LockObjectResponse', id: objectId, result: 1, lockOwner: NIL_UMID }));
    this.emit('lock', room.worldId, objectId, userId, false);
  }

  /** A person on another node is in the world: shown to everyone here. False when they are connected here. */
  addRemote(worldId: string, member: RemoteMember, pose: TransformNoScale): boolean {
    if (!this.store.get(worldId) || !this.validPose(worldId, pose)) return false;
    const room = this.roomFor(worldId);
    const present = room.member(member.user.id);
    if (present && !present.remote) return false;
    if (present) {
      room.move(member.user.id, pose);
      return true;
    }
    room.add(member, pose);
    return true;
  }

  /** A person on another node left the world (or their node went silent): their locks go with them. */
  removeRemote(worldId: string, userId: string): void {
    const room = this.rooms.get(worldId);
    if (!room?.member(userId)?.remote) return;
    room.remove(userId);
    this.releaseLocksOf(room, userId);
    if (room.size === 0) this.closeRoom(worldId);
  }

  moveRemote(worldId: string, userId: string, pose: TransformNoScale): void {
    const room = this.rooms.get(worldId);
    const member = room?.member(userId);
    // Ten times a second per remote person: the room's bound (not a lookup of the world's root), its seat.
    if (!room || !member?.remote || !member.seat) return;
    if (!isFiniteTransform(pose) || !insideBound(room.bound, pose.position)) return;
    room.moveSeat(member.seat, pose);
    // Sent as they arrive rather than at the room's next tick (Room.sendRemoteMoves), once for all the
    // positions applied in this turn of the event loop: a frame per member per arrival, not per move.
    this.remoteMoved.add(room);
    this.remoteMovesDue ??= setImmediate(this.sendRemoteMoves);
  }

  private readonly sendRemoteMoves = (): void => {
    this.remoteMovesDue = undefined;
    const now = Date.now();
    for (const room of this.remoteMoved) if (this.rooms.get(room.worldId) === room) room.sendRemoteMoves(now);
    this.remoteMoved.clear();
  };

  /** What a local move must pass (user-controller.ts), asked of remote people too. */
  private validPose(worldId: string, pose: TransformNoScale): boolean {
    return isFiniteTransform(pose) && this.withinBounds(worldId, pose.position);
  }

  /**
   * A lock taken or released on another node that won there and here (federation decides by the claims'
   * stamps). A local holder it overrides is told its lock failed; everyone else sees the new holder.
   */
  applyRemoteLock(worldId: string, objectId: string, userId: string, locked: boolean): void {
    const room = this.rooms.get(worldId);
    if (!room) return;
    const holder = room.locks.get(objectId);
    if (!locked) {
      if (holder !== userId) return;
      room.locks.delete(objectId);
      room.broadcast(encode({ type: 'LockObjectResponse', id: objectId, result: 1, lockOwner: NIL_UMID }));
      return;
    }
    if (holder === userId) return;
    const loser = holder ? room.member(holder) : undefined;
    loser?.sendReliable(encode({ type: 'LockObjectResponse', id: objectId, result: 0, lockOwner: userId }));
    room.locks.set(objectId, userId);
    room.broadcast(
      encode({ type: 'LockObjectResponse', id: objectId, result: 1, lockOwner: userId }),
      holder,
    );
  }

  /** Releases every lock `userId` holds in the room, telling everyone; returns the objects. */
  private releaseLocksOf(room: Room, userId: string): string[] {
    const released: string[] = [];
    for (const [objectId, holder] of room.locks) {
      if (holder !== userId) continue;
      room.locks.delete(objectId);
      room.broadcast(encode({ type: 'LockObjectResponse', id: objectId, result: 0, lockOwner: NIL_UMID }));
      released.push(objectId);
    }
    return released;
  }

  /** Sends a member its world's entry stream again (a resumed session that missed too much); others see nothing. */
  snapshot(member: Member): boolean {
    const userId = member.user.id;
    const room = this.roomOf(userId);
    const state = room && this.store.get(room.worldId);
    if (!room || !state) return false;
    const batch = this.options.entryBatchSize;
    room.resetView(userId);
    for (const frame of worldSnapshot(state, room, userId, this.nodeId, batch)) member.sendReliable(frame);
    return true;
  }

  /** Rooms with people in them, local or remote. */
  roomsInUse(): IterableIterator<Room> {
    return this.rooms.values();
  }

  /** Moves an object for its lock holder; persisted, then relayed to the world by the change fan-out. */
  async moveObject(member: Member, objectId: string, transform: Transform): Promise<boolean> {
    const room = this.roomOf(member.user.id);
    if (!room || room.locks.get(objectId) !== member.user.id) return false;
    if (!isFiniteTransform(transform) || !this.withinBounds(room.worldId, transform.position)) return false;
    await this.store.apply(this.store.objectOp(room.worldId, objectId, { transform }, member.user.id));
    return true;
  }

  /** The world's spawn point option, else the origin (world-rules.ts). */
  spawnPoint(state: WorldState): TransformNoScale {
    return spawnPoint(state);
  }

  /** True when a position lies inside the world's bounds (world-rules.ts). */
  withinBounds(worldId: string, p: { x: number; y: number; z: number }): boolean {
    return insideBound(worldBound(this.store.get(worldId)), p);
  }

  /** A world's root changed (here, or on another node): its live room checks moves against the new bound. */
  private readonly onWorldChange = (change: WorldChange): void => {
    if (change.kind !== 'object' || change.object.id !== change.worldId) return;
    const room = this.rooms.get(change.worldId);
    if (room) room.bound = worldBound(this.store.get(change.worldId));
  };

  private roomFor(worldId: string): Room {
    let room = this.rooms.get(worldId);
    if (!room) {
      room = new Room(worldId, this.options);
      room.bound = worldBound(this.store.get(worldId));
      this.rooms.set(worldId, room);
      const tickRoom = room;
      this.timers.set(
        worldId,
        setInterval(() => {
          const started = performance.now();
          const now = Date.now();
          tickRoom.tick(now);
          this.observeTick?.((performance.now() - started) / 1000);
          this.emit('tick', tickRoom, now);
        }, this.options.tickMs),
      );
    }
    return room;
  }

  private closeRoom(worldId: string): void {
    clearInterval(this.timers.get(worldId));
    this.timers.delete(worldId);
    this.rooms.delete(worldId);
  }
}

function* chunks<T>(list: T[], size: number): Generator<T[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}

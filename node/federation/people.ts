/**
 * People across nodes, for every world this node holds: local members' joins, leaves and a periodic
 * roster go out on the world's people topic, their moves at each tick of the world's room (the tick that
 * sends them to the members here) as one `UsersTransformList` on the positions topic; remote people are folded into the local rooms (world/remote-member.ts) and leave when
 * their node says so, or goes silent. High-fives to a remote person and lock claims travel here too:
 * concurrent claims on one object resolve to the earliest stamp (ties by node id) on every node.
 */
import type { Logger } from 'pino';
import {
  decodePeople,
  encodePeople,
  MAX_ROSTER,
  type PeopleMessage,
  peopleTopic,
  positionsTopic,
  type RemotePerson,
} from '../../protocol/gossip/index.ts';
import {
  decode,
  encode,
  type HighFive,
  PosbusDecodeError,
  type TransformNoScale,
  type UserTransform,
} from '../../protocol/posbus/index.ts';
import { type HybridClock, parseStamp } from '../world/hlc.ts';
import { RemoteMember, remoteUser } from '../world/remote-member.ts';
import type { Member, Room } from '../world/room.ts';
import type { WorldController } from '../world/world-controller.ts';
import type { Gossip, HandlerVerdict } from './gossip.ts';
import { LockClaims } from './lock-claims.ts';
import { type Arrivals, MAX_PEOPLE_PER_NODE, PeopleBounds } from './people-bounds.ts';
import { PeopleOrder } from './people-order.ts';

export interface PeopleOptions {
  rosterIntervalMs: number;
  silenceTimeoutMs: number;
  /** Users per positions message. */
  batchSize: number;
  maxMessageBytes: number;
  maxClockSkewMs: number;
  /**
   * People of other nodes shown here at once, over all of them: under `--trust all` anyone can be as many
   * nodes as they like, each up to MAX_PEOPLE_PER_NODE.
   */
  maxRemotePeople: number;
}

interface RemotePresence {
  node: string;
  lastSeenAt: number;
}

/** Every local member is re-published at least this often, moved or not. */
export const POSITION_REFRESH_MS = 2000;
/** Locks one person may hold at once, as claims known here (an editor holds one or a few). */
export const MAX_CLAIMS_PER_PERSON = 32;
/**
 * Nodes whose people's joins, leaves and rosters are kept in order (people-order.ts), each for as many
 * people as it may show here: past it, the least recently heard node's messages are taken as they come.
 */
const MAX_ORDERED_NODES = 16;

export class FederatedPeople {
  private readonly gossip: Gossip;
  private readonly worlds: WorldController;
  private readonly clock: HybridClock;
  private readonly log: Logger;
  private readonly options: PeopleOptions;
  /** worldId → userId → where the remote person is */
  private readonly remote = new Map<string, Map<string, RemotePresence>>();
  /** How many people of `remote` each node shows, against the bounds (people-bounds.ts). */
  private readonly bounds: PeopleBounds;
  /** The winning lock claim per object, and how many each person holds (MAX_CLAIMS_PER_PERSON). */
  private readonly claims = new LockClaims();
  /** worldId → userId → last published pose, and when */
  private readonly published = new Map<string, Map<string, { pose: TransformNoScale; at: number }>>();
  private readonly held = new Set<string>();
  /** Which joins, leaves and rosters are news: later than the last applied (people-order.ts). */
  private readonly order: PeopleOrder;
  private timers: NodeJS.Timeout[] = [];

  // Joins and leaves with no peer on the topic are not encoded and signed (an ed25519 signature each: half
  // of a teleport's node time when 5,000 enter at once); a peer that subscribes later learns who is here
  // from the next roster.
  private readonly onEntered = (worldId: string, member: Member, pose: TransformNoScale) => {
    if (this.held.has(worldId) && this.gossip.hasSubscribers(peopleTopic(worldId)))
      this.publish(worldId, { t: 'join', person: person(member, pose), at: this.order.stamp() });
  };
  private readonly onLeft = (worldId: string, userId: string) => {
    this.published.get(worldId)?.delete(userId);
    if (this.held.has(worldId) && this.gossip.hasSubscribers(peopleTopic(worldId)))
      this.publish(worldId, { t: 'leave', userId, at: this.order.stamp() });
  };
  private readonly onLock = (worldId: string, objectId: string, userId: string, locked: boolean) => {
    const stamp = this.clock.now();
    if (locked) this.claims.set(worldId, objectId, { userId, stamp });
    else if (this.claims.get(worldId, objectId)?.userId === userId) this.claims.delete(worldId, objectId);
    if (this.held.has(worldId)) this.publish(worldId, { t: 'lock', objectId, userId, stamp, locked });
  };
  private readonly onTick = (room: Room, now: number) => this.publishPositions(room, now);

  constructor(
    components: {
      gossip: Gossip;
      worlds: WorldController;
      clock: HybridClock;
      /** True when the world here has that object, not removed: only those can be locked. */
      logger: Logger;
    },
    options: PeopleOptions,
  ) {
    this.gossip = components.gossip;
    this.worlds = components.worlds;
    this.clock = components.clock;
    this.log = components.logger.child({ component: 'federated-people' });
    this.options = options;
    this.bounds = new PeopleBounds({ maxRemotePeople: options.maxRemotePeople, logger: this.log });
    this.order = new PeopleOrder({
      // A person not heard of for the silence timeout has left anyway; the skew allows for the sender's clock.
      maxAgeMs: options.silenceTimeoutMs + options.maxClockSkewMs,
      maxClockSkewMs: options.maxClockSkewMs,
      maxNodes: MAX_ORDERED_NODES,
      maxPerNode: MAX_PEOPLE_PER_NODE,
    });
  }

  start(): void {
    this.worlds.on('entered', this.onEntered);
    this.worlds.on('left', this.onLeft);
    this.worlds.on('lock', this.onLock);
    this.worlds.on('tick', this.onTick);
    this.timers = [
      setInterval(() => this.publishRosters(), this.options.rosterIntervalMs),
      setInterval(() => this.expire(Date.now()), Math.min(1000, this.options.silenceTimeoutMs)),
    ];
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.worlds.off('entered', this.onEntered);
    this.worlds.off('left', this.onLeft);
    this.worlds.off('lock', this.onLock);
    this.worlds.off('tick', this.onTick);
  }

  /** Starts serving a world's people: its topics, and everyone here announced. */
  hold(worldId: string): void {
    if (this.held.has(worldId)) return;
    this.held.add(worldId);
    this.gossip.on(peopleTopic(worldId), (data, from) => this.onPeople(worldId, data, from));
    this.gossip.on(positionsTopic(worldId), (data, from) => this.onPositions(worldId, data, from));
  }

  release(worldId: string): void {
    if (!this.held.delete(worldId)) return;
    this.gossip.off(peopleTopic(worldId));
    this.gossip.off(positionsTopic(worldId));
  }

  private publish(worldId: string, message: PeopleMessage): void {
    this.gossip.publish(peopleTopic(worldId), encodePeople(message));
  }

  private onPeople(worldId: string, data: Uint8Array, from: string): HandlerVerdict {
    const message = decodePeople(data, this.options.maxMessageBytes);
    if (message.t === 'join' || message.t === 'leave' || message.t === 'roster') {
      const judged = this.order.judge(message.at);
      // Stale is not the signer's fault: anyone may send a signed message again once gossip forgot it.
      if (judged === 'stale') return 'ignore';
      if (judged) return { reject: judged };
    }
    const { order } = this;
    switch (message.t) {
      case 'join': {
        // Overtaken by a later leave or roster of its node (or sent again after them): not news.
        if (!order.isLater(worldId, message.person.id, from, message.at)) return 'ignore';
        const over = this.bounds.judge(from, this.arrivals(worldId, [message.person], from, 0));
        if (over) return over;
        order.advance(worldId, message.person.id, from, message.at);
        this.seen(worldId, message.person, from);
        return 'accept';
      }
      case 'leave':
        // Kept even when the person is not shown here: a join it overtook must not bring them back.
        if (!order.advance(worldId, message.userId, from, message.at)) return 'ignore';
        return this.gone(worldId, message.userId, from) ? 'accept' : 'ignore';
      case 'roster': {
        // Judged whole before anything changes: a roster that would pass a bound adds no one. Those it
        // lists who left after it was made are not news, and count for nothing; those a complete one
        // leaves out make room. Someone who joined after it was made is not missing from it.
        const news = message.people.filter((p) => order.isLater(worldId, p.id, from, message.at));
        const present = new Set(message.people.map((p) => p.id));
        const missing: string[] = [];
        for (const [userId, where] of this.remote.get(worldId) ?? []) {
          if (message.complete && where.node === from && !present.has(userId)) missing.push(userId);
        }
        const leaving = missing.filter((userId) => order.isLater(worldId, userId, from, message.at));
        const over = this.bounds.judge(from, this.arrivals(worldId, news, from, leaving.length));
        if (over) return over;
        for (const userId of leaving) {
          order.advance(worldId, userId, from, message.at);
          this.gone(worldId, userId, from);
        }
        for (const p of news) {
          order.advance(worldId, p.id, from, message.at);
          this.seen(worldId, p, from);
        }
        return 'accept';
      }
      case 'highfive':
        return this.deliverHighFive(worldId, message, from);
      case 'lock':
        return this.onClaim(worldId, message, from);
    }
  }

  private onPositions(worldId: string, data: Uint8Array, from: string): HandlerVerdict {
    if (data.byteLength > this.options.maxMessageBytes) return { reject: 'too_large' };
    let message: ReturnType<typeof decode>;
    try {
      message = decode(data);
    } catch (error) {
      if (error instanceof PosbusDecodeError) return { reject: 'bad_positions' };
      throw error;
    }
    if (message.type !== 'UsersTransformList') return { reject: 'bad_positions' };
    const people = this.remote.get(worldId);
    const now = Date.now();
    for (const entry of message.value) {
      // A node moves only the people it announced.
      const where = people?.get(entry.id);
      if (where?.node !== from) continue;
      where.lastSeenAt = now;
      this.worlds.moveRemote(worldId, entry.id, entry.transform);
    }
    return 'accept';
  }

  /** Who showing `people` for `from` would add, as `leaving` of its people go (a person listed twice: once). */
  private arrivals(worldId: string, people: RemotePerson[], from: string, leaving: number): Arrivals {
    const known = this.remote.get(worldId);
    const added = new Set<string>();
    let arriving = 0;
    for (const p of people) {
      const where = known?.get(p.id);
      if (where?.node === from || added.has(p.id)) continue;
      added.add(p.id);
      if (!where) arriving++;
    }
    return { added: added.size, arriving, leaving };
  }

  private seen(worldId: string, p: RemotePerson, from: string): void {
    let people = this.remote.get(worldId);
    if (!people) {
      people = new Map();
      this.remote.set(worldId, people);
    }
    const where = people.get(p.id);
    if (where && where.node !== from) {
      // The person moved to another node: the old node's copy goes.
      this.worlds.removeRemote(worldId, p.id);
    }
    if (!where || where.node !== from) {
      const member = new RemoteMember(remoteUser(p.id, p.name, p.isGuest), from, (h) =>
        this.sendHighFive(worldId, h),
      );
      const added = this.worlds.addRemote(worldId, member, p.pose);
      if (where) {
        // The old node's copy is gone either way: shown by nobody if the new one could not be added.
        this.bounds.count(where.node, -1);
        if (!added) people.delete(p.id);
      }
      if (!added) return;
      this.bounds.count(from, 1);
    }
    people.set(p.id, { node: from, lastSeenAt: Date.now() });
  }

  private gone(worldId: string, userId: string, from: string): boolean {
    const people = this.remote.get(worldId);
    if (people?.get(userId)?.node !== from) return false;
    people.delete(userId);
    this.bounds.count(from, -1);
    this.claims.dropPerson(worldId, userId);
    this.worlds.removeRemote(worldId, userId);
    return true;
  }

  private sendHighFive(worldId: string, h: HighFive): void {
    this.publish(worldId, { t: 'highfive', from: h.senderId, to: h.receiverId, message: h.message });
  }

  private deliverHighFive(
    worldId: string,
    m: Extract<PeopleMessage, { t: 'highfive' }>,
    from: string,
  ): HandlerVerdict {
    if (this.remote.get(worldId)?.get(m.from)?.node !== from) return { reject: 'not_their_person' };
    const receiver = this.worlds.roomOf(m.to)?.member(m.to);
    if (!receiver || receiver.remote || this.worlds.worldOf(m.to) !== worldId) return 'ignore';
    receiver.sendReliable(
      encode({ type: 'HighFive', senderId: m.from, receiverId: m.to, message: m.message }),
    );
    return 'accept';
  }

  private onClaim(worldId: string, m: Extract<PeopleMessage, { t: 'lock' }>, from: string): HandlerVerdict {
    if (this.remote.get(worldId)?.get(m.userId)?.node !== from) return { reject: 'not_their_person' };
    // A claim is about now: one from the far future would move this node's clock past what its peers
    // accept, one from long ago would win every race.
    const wall = parseStamp(m.stamp)?.wall;
    const now = Date.now();
    if (wall === undefined || Math.abs(wall - now) > this.options.maxClockSkewMs)
      return { reject: 'clock_skew' };
    const current = this.claims.get(worldId, m.objectId);
    // Every claim is kept until released or its person leaves, so one person's claims are bounded. Not
    // to objects known here: a claim often arrives before the object it locks (a builder creates and
    // locks at once; the op is still being checked, or the world still syncing), and must hold when the
    // object arrives.
    if (m.locked && current?.userId !== m.userId && this.claims.countOf(m.userId) >= MAX_CLAIMS_PER_PERSON)
      return { reject: 'too_many_claims' };
    this.clock.observe(m.stamp);
    if (!m.locked) {
      if (current?.userId !== m.userId) return 'ignore';
      this.claims.delete(worldId, m.objectId);
      this.worlds.applyRemoteLock(worldId, m.objectId, m.userId, false);
      return 'accept';
    }
    // Earliest claim wins everywhere; stamps end in the node id, so there are no ties.
    if (current && current.stamp <= m.stamp) return 'accept';
    this.claims.set(worldId, m.objectId, { userId: m.userId, stamp: m.stamp });
    this.worlds.applyRemoteLock(worldId, m.objectId, m.userId, true);
    return 'accept';
  }

  /**
   * The room's local members that moved (or are due a refresh), published at its tick: the same instant
   * its members here are sent them, so a move waits for one timer on this node, not for the room's and a
   * second one of federation's (docs/benchmarks.md, "Federation").
   */
  private publishPositions(room: Room, now: number): void {
    if (!this.held.has(room.worldId)) return;
    // Nobody to hear it: no copy, encode or signature per tick. A peer that subscribes later gets
    // everyone at the next tick (nothing was recorded as published meanwhile).
    if (!this.gossip.hasSubscribers(positionsTopic(room.worldId))) return;
    let last = this.published.get(room.worldId);
    if (!last) {
      last = new Map();
      this.published.set(room.worldId, last);
    }
    const movers: UserTransform[] = [];
    for (const { member, transform } of room.localPresences()) {
      const before = last.get(member.user.id);
      if (before && samePose(before.pose, transform) && now - before.at < POSITION_REFRESH_MS) continue;
      // A copy only for movers: it is both what was published and what the next tick compares with.
      const pose = { position: { ...transform.position }, rotation: { ...transform.rotation } };
      last.set(member.user.id, { pose, at: now });
      movers.push({ id: member.user.id, transform: pose });
    }
    for (let i = 0; i < movers.length; i += this.options.batchSize) {
      const value = movers.slice(i, i + this.options.batchSize);
      this.gossip.publish(positionsTopic(room.worldId), encode({ type: 'UsersTransformList', value }));
    }
  }

  /** Everyone here, per held world: keeps them alive elsewhere and repairs a lost join or leave. */
  private publishRosters(): void {
    const rooms = new Map(Array.from(this.worlds.roomsInUse(), (room) => [room.worldId, room]));
    for (const worldId of this.held) {
      const room = rooms.get(worldId);
      const people = room ? Array.from(room.localPresences(), (p) => person(p.member, p.transform)) : [];
      if (!people.length && !this.published.get(worldId)?.size) continue;
      if (!people.length) this.published.delete(worldId);
      // Past MAX_ROSTER the roster is partial: it keeps people alive but removes no one.
      this.publish(worldId, {
        t: 'roster',
        people: people.slice(0, MAX_ROSTER),
        complete: people.length <= MAX_ROSTER,
        at: this.order.stamp(),
      });
    }
  }

  /** People of a node that went silent leave. */
  private expire(now: number): void {
    for (const [worldId, people] of this.remote) {
      for (const [userId, where] of people) {
        if (now - where.lastSeenAt > this.options.silenceTimeoutMs) {
          this.log.info({ worldId, userId, node: where.node }, 'remote person timed out');
          this.gone(worldId, userId, where.node);
        }
      }
    }
  }
}

function person(member: Member, pose: TransformNoScale): RemotePerson {
  return {
    id: member.user.id,
    name: member.user.name,
    isGuest: member.user.isGuest,
    pose: { position: { ...pose.position }, rotation: { ...pose.rotation } },
  };
}

function samePose(a: TransformNoScale, b: TransformNoScale): boolean {
  const { position: p, rotation: r } = a;
  const { position: q, rotation: s } = b;
  return p.x === q.x && p.y === q.y && p.z === q.z && r.x === s.x && r.y === s.y && r.z === s.z;
}

/**
 * Who may do what to objects: node admins (configured), owners of an object or of any ancestor, and
 * users granted the admin role on an object or an ancestor (the original's `user_object` rows).
 */
import { type Database, key } from '../../storage/db/database.ts';
import type { ObjectRecord, UserRecord } from '../../storage/db/records.ts';
import type { WorldState, WorldStore } from './world-store.ts';

export interface Membership {
  role: 'admin';
  grantedBy: string;
  grantedAt: number;
}

/** Ancestors deeper than this are bad data (a parent cycle), not a real tree. */
const MAX_DEPTH = 64;

/** The table of admin grants (its name is the on-disk key prefix: never rename it). */
export function accessTables(db: Database) {
  return {
    level: db.level,
    /** objectId!userId → membership (admin grants) */
    members: db.sublevel<Membership>('members'),
  };
}

export class Access {
  private readonly db: ReturnType<typeof accessTables>;
  private readonly store: WorldStore;
  /** Configured admins: user ids and lowercase wallets. */
  private readonly admins: ReadonlySet<string>;
  /** objectId → userId → membership, loaded at start and kept in step with LevelDB. */
  private readonly members = new Map<string, Map<string, Membership>>();

  constructor(components: { db: Database; store: WorldStore; admins: string[] }) {
    this.db = accessTables(components.db);
    this.store = components.store;
    this.admins = new Set(components.admins.map((a) => a.trim().toLowerCase()).filter(Boolean));
  }

  async start(): Promise<void> {
    for await (const [k, m] of this.db.members.iterator()) {
      const [objectId, userId] = k.split('!');
      this.membersOf(objectId).set(userId, m);
    }
  }

  isNodeAdmin(user: UserRecord): boolean {
    return this.admins.has(user.id) || (user.wallets ?? []).some((w) => this.admins.has(w.toLowerCase()));
  }

  /** Admin of the object: node admin, owner or admin member of it or of an ancestor (the world included). */
  isObjectAdmin(user: UserRecord, objectId: string): boolean {
    if (this.isNodeAdmin(user)) return true;
    const found = this.store.findObject(objectId);
    if (!found) return false;
    for (const o of ancestry(found.state, found.object)) {
      if (o.ownerId === user.id || this.members.get(o.id)?.get(user.id)?.role === 'admin') return true;
    }
    return false;
  }

  /** May edit (lock, move) the object: an admin of it, or anyone when its world has `publicEditing` on. */
  canEdit(user: UserRecord, state: WorldState, objectId: string): boolean {
    const object = state.objects.get(objectId);
    if (!object || object.removed) return false;
    if (object.id !== state.id && !object.isEditable) return false;
    if (state.objects.get(state.id)?.options.publicEditing === true) return true;
    return this.isObjectAdmin(user, objectId);
  }

  listMembers(objectId: string): [string, Membership][] {
    return [...(this.members.get(objectId) ?? [])];
  }

  async grant(objectId: string, userId: string, grantedBy: string): Promise<void> {
    const membership: Membership = { role: 'admin', grantedBy, grantedAt: Date.now() };
    await this.db.members.put(key(objectId, userId), membership);
    this.membersOf(objectId).set(userId, membership);
  }

  async revoke(objectId: string, userId: string): Promise<boolean> {
    if (!this.members.get(objectId)?.has(userId)) return false;
    await this.db.members.del(key(objectId, userId));
    this.members.get(objectId)?.delete(userId);
    return true;
  }

  private membersOf(objectId: string): Map<string, Membership> {
    let map = this.members.get(objectId);
    if (!map) {
      map = new Map();
      this.members.set(objectId, map);
    }
    return map;
  }
}

/** The object, its parent, … up to its world. */
export function* ancestry(state: WorldState, object: ObjectRecord): Generator<ObjectRecord> {
  let o: ObjectRecord | undefined = object;
  for (let depth = 0; o && depth < MAX_DEPTH; depth++) {
    yield o;
    if (o.id === state.id) return;
    o = state.objects.get(o.parentId);
  }
}

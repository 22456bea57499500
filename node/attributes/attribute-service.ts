/**
 * Attribute values of all five families, with the permission model checked on every read and write.
 * Object attributes go through the world store (persisted, merged by stamp and fanned out over PosBus);
 * the other families are written to their LevelDB sublevels with a stamp from the same clock. A request
 * resolves only after its write is on disk.
 */
import { DomainError, forbidden, notFound } from '../../common/errors.ts';
import { type AnyMap, encode } from '../../protocol/posbus/index.ts';
import { type Database, type Sublevel, valuesWithPrefix } from '../../storage/db/database.ts';
import type {
  AttributeOptions,
  AttributeRecord,
  AttributeTypeRecord,
  UserRecord,
} from '../../storage/db/records.ts';
import type { UserStore } from '../user/user-store.ts';
import type { Access } from '../world/access.ts';
import { subtreeChildrenFirst } from '../world/object-tree.ts';
import type { WorldController } from '../world/world-controller.ts';
import { attributeKey, type WorldStore } from '../world/world-store.ts';
import { type EntriesQuery, listEntries } from './entries.ts';
import { allows, effectivePermissions, type Operation, readableByEveryUser, rolesOf } from './permissions.ts';
import {
  type AttributeRef,
  type AttributeTarget,
  objectUserPrefix,
  optionsKey,
  storageKey,
} from './targets.ts';
import type { AttributeTypes } from './types.ts';
import { type AttributeValue, checkValue } from './values.ts';

/** The families this service keeps itself; object attributes are the world store's (see `worldTables`). */
type OwnFamily = Exclude<AttributeTarget['family'], 'object'>;

/**
 * The tables of attribute values and per-row options (names are on-disk key prefixes: never rename
 * them). The object family's values are not here: they replicate with their world, so `WorldStore` owns
 * them and this service goes through it; their per-row options are node-local and stay here.
 */
export function attributeTables(db: Database) {
  const values: Record<OwnFamily, Sublevel<AttributeRecord>> = {
    node: db.sublevel('attr-node'),
    objectUser: db.sublevel('attr-object-user'),
    user: db.sublevel('attr-user'),
    userUser: db.sublevel('attr-user-user'),
  };
  return {
    values,
    /** family!<the attribute's key in its family's table> → per-row options overriding the type's */
    options: db.sublevel<AttributeOptions>('attr-options'),
  };
}

export interface AttributeServiceComponents {
  db: Database;
  store: WorldStore;
  users: UserStore;
  access: Access;
  types: AttributeTypes;
  /** The node object's id: object-user attributes may hang on it (the original's skybox lists do). */
  nodeId: string;
  /** Where users' PosBus sessions are: user attributes with posbus_auto `user` go to the user's own session. */
  worlds?: Pick<WorldController, 'roomOf'>;
}

export class AttributeService {
  readonly types: AttributeTypes;
  private readonly c: AttributeServiceComponents;
  private readonly db: ReturnType<typeof attributeTables>;
  /** Per attribute: read-modify-write of sub values must not interleave. */
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(components: AttributeServiceComponents) {
    this.c = components;
    this.db = attributeTables(components.db);
    this.types = components.types;
  }

  async get(
    caller: UserRecord | undefined,
    target: AttributeTarget,
    ref: AttributeRef,
  ): Promise<AttributeValue> {
    await this.authorize(caller, target, ref, 'read');
    const value = await this.read(target, ref);
    if (!value) throw notFound('attribute_not_found', `attribute ${ref.name} has no value`);
    return value;
  }

  async set(
    caller: UserRecord | undefined,
    target: AttributeTarget,
    ref: AttributeRef,
    value: AttributeValue,
  ): Promise<AttributeValue> {
    const type = await this.authorize(caller, target, ref, 'write');
    return (await this.mutate(type, target, actorOf(caller), () => value)) as AttributeValue;
  }

  /** Removes the value (object attributes keep a null tombstone, like every family here). */
  async remove(caller: UserRecord | undefined, target: AttributeTarget, ref: AttributeRef): Promise<void> {
    const type = await this.authorize(caller, target, ref, 'write');
    await this.mutate(type, target, actorOf(caller), (current) => (current ? null : undefined));
  }

  async getSub(
    caller: UserRecord | undefined,
    target: AttributeTarget,
    ref: AttributeRef,
    subKey: string,
  ): Promise<AttributeValue> {
    const value = await this.get(caller, target, ref);
    if (!Object.hasOwn(value, subKey))
      throw notFound('attribute_value_not_found', `attribute ${ref.name} has no key ${subKey}`);
    return { [subKey]: value[subKey] };
  }

  async setSub(
    caller: UserRecord | undefined,
    target: AttributeTarget,
    ref: AttributeRef,
    subKey: string,
    subValue: unknown,
  ): Promise<AttributeValue> {
    const type = await this.authorize(caller, target, ref, 'write');
    await this.mutate(type, target, actorOf(caller), (current) => ({ ...current, [subKey]: subValue }));
    return { [subKey]: subValue };
  }

  async removeSub(
    caller: UserRecord | undefined,
    target: AttributeTarget,
    ref: AttributeRef,
    subKey: string,
  ): Promise<void> {
    const type = await this.authorize(caller, target, ref, 'write');
    await this.mutate(type, target, actorOf(caller), (current) => {
      if (!current || !Object.hasOwn(current, subKey)) return undefined;
      const { [subKey]: _removed, ...rest } = current;
      return rest;
    });
  }

  /** The attribute on an object and every object below it: objectId → value. */
  async withChildren(
    caller: UserRecord | undefined,
    objectId: string,
    ref: AttributeRef,
  ): Promise<Record<string, AttributeValue>> {
    this.authorizeReadAll(caller, ref);
    const found = this.c.store.findObject(objectId);
    if (!found) throw objectNotFound(objectId);
    const out: Record<string, AttributeValue> = {};
    for (const { id } of subtreeChildrenFirst(found.state, objectId)) {
      const value = found.state.attributes.get(attributeKey(id, ref.pluginId, ref.name))?.value;
      if (value && (await this.rowReadableByEveryUser({ family: 'object', objectId: id }, ref)))
        out[id] = value;
    }
    return out;
  }

  /** Every user's value of an object-user attribute, with when it was written. */
  async allUsers(
    caller: UserRecord | undefined,
    objectId: string,
    ref: AttributeRef,
  ): Promise<{ userId: string; value: AttributeValue; updatedAt: number }[]> {
    this.authorizeReadAll(caller, ref);
    this.requireObject(objectId);
    const prefix = objectUserPrefix(objectId, ref);
    const out: { userId: string; value: AttributeValue; updatedAt: number }[] = [];
    for (const [k, record] of await valuesWithPrefix(this.db.values.objectUser, prefix)) {
      const userId = k.slice(prefix.length + 1);
      if (!record.value) continue;
      if (!(await this.rowReadableByEveryUser({ family: 'objectUser', objectId, userId }, ref))) continue;
      out.push({ userId, value: record.value, updatedAt: record.updatedAt });
    }
    return out;
  }

  async entries(caller: UserRecord | undefined, objectId: string, ref: AttributeRef, query: EntriesQuery) {
    const { count, items } = listEntries(await this.allUsers(caller, objectId, ref), query);
    const users = new Map<string, UserRecord | undefined>();
    for (const { userId } of items) if (!users.has(userId)) users.set(userId, await this.c.users.get(userId));
    return {
      count,
      limit: query.limit,
      offset: query.offset,
      items: items.map(({ key, userId, fields }) => {
        const user = users.get(userId);
        const profile = user ? { name: user.name, avatar_hash: user.profile?.avatarHash ?? '' } : {};
        return { ...fields, _key: key, _user: { user_id: userId, profile } };
      }),
    };
  }

  /** Lets everyone read and any signed-in user write one object attribute (the original's "publicize"). */
  async publicize(caller: UserRecord, objectId: string, ref: AttributeRef): Promise<AttributeOptions> {
    this.requireType(ref);
    this.requireObject(objectId);
    if (!this.c.access.isObjectAdmin(caller, objectId))
      throw forbidden('not_admin', 'only an admin of the object may publicize its attributes');
    const k = optionsKey({ family: 'object', objectId }, ref);
    const options: AttributeOptions = {
      ...(await this.db.options.get(k)),
      permissions: { read: 'any', write: 'user' },
    };
    await this.db.options.put(k, options);
    return options;
  }

  // ---- rules shared by every route --------------------------------------------------------------

  private requireType(ref: AttributeRef): AttributeTypeRecord {
    const type = this.types.get(ref.pluginId, ref.name);
    if (!type) throw notFound('attribute_type_not_found', `no attribute type ${ref.pluginId}/${ref.name}`);
    return type;
  }

  /** The object, or the node object, which has no world but may carry object-user attributes. */
  private requireObject(objectId: string): void {
    if (objectId !== this.c.nodeId && !this.c.store.findObject(objectId)) throw objectNotFound(objectId);
  }

  private async requireUser(userId: string): Promise<void> {
    if (!(await this.c.users.get(userId))) throw notFound('user_not_found', `no user ${userId}`);
  }

  private async requireTarget(target: AttributeTarget): Promise<void> {
    switch (target.family) {
      case 'object':
        if (!this.c.store.findObject(target.objectId)) throw objectNotFound(target.objectId);
        return;
      case 'objectUser':
        this.requireObject(target.objectId);
        return this.requireUser(target.userId);
      case 'user':
        return this.requireUser(target.userId);
      case 'userUser':
        await this.requireUser(target.sourceId);
        return this.requireUser(target.targetId);
    }
  }

  /**
   * Whether `caller` may write an object attribute, by the same rules as a local write: what a node checks
   * before it applies an attribute op that another node made.
   */
  async mayWriteObjectAttribute(
    caller: UserRecord | undefined,
    objectId: string,
    ref: AttributeRef,
  ): Promise<boolean> {
    try {
      await this.authorize(caller, { family: 'object', objectId }, ref, 'write');
      return true;
    } catch (e) {
      if (e instanceof DomainError) return false;
      throw e;
    }
  }

  /** Type known, owner existing, caller allowed: in that order, so that a 403 means "exists, not yours". */
  private async authorize(
    caller: UserRecord | undefined,
    target: AttributeTarget,
    ref: AttributeRef,
    op: Operation,
  ): Promise<AttributeTypeRecord> {
    const type = this.requireType(ref);
    await this.requireTarget(target);
    const row = await this.db.options.get(optionsKey(target, ref));
    const permission = effectivePermissions(type.options, row)[op];
    if (!allows(permission, rolesOf(caller, target, this.c.access, this.c.nodeId)))
      throw forbidden('operation_not_permitted', `${op} of ${ref.name} needs ${permission}`);
    return type;
  }

  private authorizeReadAll(caller: UserRecord | undefined, ref: AttributeRef): void {
    const type = this.requireType(ref);
    if (!caller || !readableByEveryUser(effectivePermissions(type.options)))
      throw forbidden('operation_not_permitted', `${ref.name} is not readable by every user`);
  }

  /** A row whose own options narrow reading is left out of "read all" answers. */
  private async rowReadableByEveryUser(target: AttributeTarget, ref: AttributeRef): Promise<boolean> {
    const row = await this.db.options.get(optionsKey(target, ref));
    return !row?.permissions?.read || readableByEveryUser(effectivePermissions({}, row));
  }

  private async read(target: AttributeTarget, ref: AttributeRef): Promise<AttributeValue | null> {
    if (target.family === 'object') {
      const state = this.c.store.findObject(target.objectId)?.state;
      return state?.attributes.get(storageKey(target, ref))?.value ?? null;
    }
    return (await this.db.values[target.family].get(storageKey(target, ref)))?.value ?? null;
  }

  /**
   * Read, compute, check, write — one at a time per attribute. `next` returns the new value, null to
   * remove, or undefined for "no change". Resolves with the value now stored.
   */
  private mutate(
    type: AttributeTypeRecord,
    target: AttributeTarget,
    actor: string,
    next: (current: AttributeValue | null) => AttributeValue | null | undefined,
  ): Promise<AttributeValue | null> {
    const k = optionsKey(target, type);
    const run = (this.tails.get(k) ?? Promise.resolve()).then(async () => {
      const current = await this.read(target, type);
      const value = next(current);
      if (value === undefined) return current;
      if (value) checkValue(value);
      await this.write(type, target, value, actor);
      return value;
    });
    const settled = run.catch(() => {});
    this.tails.set(k, settled);
    void settled.then(() => {
      if (this.tails.get(k) === settled) this.tails.delete(k);
    });
    return run;
  }

  /** `type` doubles as the attribute's address: it carries pluginId and name. */
  private async write(
    type: AttributeTypeRecord,
    target: AttributeTarget,
    value: AttributeValue | null,
    actor: string,
  ): Promise<void> {
    const ref: AttributeRef = type;
    if (target.family === 'object') {
      const found = this.c.store.findObject(target.objectId);
      if (!found) throw objectNotFound(target.objectId);
      const { store } = this.c;
      await store.apply(
        store.attributeOp(found.state.id, target.objectId, ref.pluginId, ref.name, value, actor),
      );
      return;
    }
    const record = { value, stamp: this.c.store.clock.now(), updatedAt: Date.now() };
    await this.db.values[target.family].put(storageKey(target, ref), record);
    if (target.family === 'user' && type.options.posbus_auto?.scope.includes('user')) {
      // Only a user who is in a world has a session to tell; the others read it when they need it.
      const session = this.c.worlds?.roomOf(target.userId)?.member(target.userId);
      session?.sendReliable(
        encode({
          type: 'AttributeValueChanged',
          pluginId: ref.pluginId,
          attributeName: ref.name,
          changeType: value ? 'attribute_changed' : 'attribute_removed',
          value: value as AnyMap | null,
          targetId: target.userId,
        }),
      );
    }
  }
}

const objectNotFound = (objectId: string) => notFound('object_not_found', `no object ${objectId}`);

/** The op's actor for a write by `caller` (attributes whose write permission is `any` have no caller). */
function actorOf(caller: UserRecord | undefined): string {
  return caller?.id ?? 'anonymous';
}

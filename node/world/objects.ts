/**
 * Objects on behalf of a user: who may create, edit, clone and remove what, and who is an admin member
 * (worlds themselves: world-directory.ts; where new objects appear: placement.ts). Every change is an op
 * through the world store (persisted to LevelDB, then relayed to PosBus by the world controller), so REST
 * and PosBus share one history. Transport-free: refusals are DomainErrors with the original's reason
 * codes.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { forbidden, invalid, notFound } from '../../common/errors.ts';
import type { ObjectFields, ObjectRecord, TransformRecord, UserRecord } from '../../storage/db/records.ts';
import { canonicalWallet, networkOf } from '../auth/wallet-signatures.ts';
import type { UserStore } from '../user/user-store.ts';
import type { Access } from './access.ts';
import {
  liveChildCount,
  objectTree,
  objectTypeOf,
  subtreeChildrenFirst,
  type TreeNode,
} from './object-tree.ts';
import { DEFAULT_OBJECT_FIELDS } from './ops.ts';
import { besides, type PlacementWorlds, spawnTransform } from './placement.ts';
import { BASIC_ASSETS, OBJECT_TYPES } from './seed.ts';
import type { WorldState, WorldStore } from './world-store.ts';

export interface ObjectServiceConfig {
  /** Live children one object may have; a create at the limit is refused (the original let one extra in). */
  maxChildrenPerObject: number;
}

export interface ObjectServiceComponents {
  store: WorldStore;
  access: Access;
  users: UserStore;
  worlds: PlacementWorlds;
  logger: Logger;
  config: ObjectServiceConfig;
}

export interface NewObject {
  name: string;
  parentId: string;
  typeId: string;
  asset2dId?: string;
  asset3dId?: string;
  transform?: TransformRecord;
  showOnMinimap?: boolean;
}

export interface ObjectPatch {
  name?: string;
  /** '' clears. */
  asset2dId?: string;
  /** '' clears. */
  asset3dId?: string;
}

export interface MemberView {
  objectId: string;
  userId: string;
  name: string;
  avatarHash: string;
  role: 'admin';
}

/** Objects keep their 2D asset (a plugin UI descriptor, not a file) in this option: ObjectFields has no slot for it. */
export const ASSET_2D_OPTION = 'asset2dId';
const NIL = DEFAULT_OBJECT_FIELDS.assetType;

export class ObjectService {
  private readonly store: WorldStore;
  private readonly access: Access;
  private readonly users: UserStore;
  private readonly worlds: ObjectServiceComponents['worlds'];
  private readonly log: Logger;
  private readonly config: ObjectServiceConfig;
  /** parentId → creations in flight, so that concurrent creates cannot overshoot the child limit. */
  private readonly pendingChildren = new Map<string, number>();

  constructor(components: ObjectServiceComponents) {
    this.store = components.store;
    this.access = components.access;
    this.users = components.users;
    this.worlds = components.worlds;
    this.log = components.logger.child({ component: 'objects' });
    this.config = components.config;
  }

  object(objectId: string): ObjectRecord {
    return this.find(objectId).object;
  }

  /** A child of `parentId` owned by the caller, who must be an admin of the parent. Resolves with its id. */
  async createObject(caller: UserRecord, input: NewObject): Promise<string> {
    const { state, object: parent } = this.findParent(input.parentId);
    if (!this.access.isObjectAdmin(caller, parent.id)) {
      throw forbidden('object_creation_not_permitted', 'only admins of the parent can create objects in it');
    }
    this.requireChildType(input.typeId);
    if (input.transform && !this.worlds.withinBounds(state.id, input.transform.position)) {
      throw invalid('invalid_transform', "transform.position lies outside the world's bounds");
    }
    return this.addChild(caller, state, parent, {
      ownerId: caller.id,
      typeId: input.typeId,
      name: input.name,
      ...assetFields(input.asset3dId),
      transform: input.transform ?? spawnTransform(this.worlds, caller.id, state, parent),
      showOnMinimap: input.showOnMinimap ?? false,
      options: input.asset2dId ? { [ASSET_2D_OPTION]: input.asset2dId } : {},
    });
  }

  /**
   * A visitor's own object under `parentId`. The original checked nothing here; now the caller must be an
   * admin of the parent, a signed-in (non-guest) user, or in a world whose `publicEditing` is on.
   */
  async spawnByUser(caller: UserRecord, parentId: string, input: { name: string; typeId: string }) {
    const { state, object: parent } = this.findParent(parentId);
    if (!this.mayAddChild(caller, state, parent.id)) {
      throw forbidden(
        'object_creation_not_permitted',
        'only admins of the parent may spawn objects here (the world is not open for editing)',
      );
    }
    this.requireChildType(input.typeId);
    return this.addChild(caller, state, parent, {
      ownerId: caller.id,
      typeId: input.typeId,
      name: input.name,
      transform: spawnTransform(this.worlds, caller.id, state, parent),
      showOnMinimap: false,
      options: {},
    });
  }

  /** Name and assets of an object (a world included); admins only. No reparenting, type change or move. */
  async patchObject(caller: UserRecord, objectId: string, patch: ObjectPatch): Promise<void> {
    const { state, object } = this.find(objectId);
    this.requireAdmin(caller, objectId);
    const fields: Partial<ObjectFields> = {};
    if (patch.name !== undefined) fields.name = patch.name;
    if (patch.asset3dId !== undefined) Object.assign(fields, assetFields(patch.asset3dId));
    if (patch.asset2dId !== undefined) {
      const options = { ...object.options };
      if (patch.asset2dId) options[ASSET_2D_OPTION] = patch.asset2dId;
      else delete options[ASSET_2D_OPTION];
      fields.options = options;
    }
    if (Object.keys(fields).length)
      await this.store.apply(this.store.objectOp(state.id, objectId, fields, caller.id));
  }

  /**
   * Removes the object and everything below it, one op per object (children first), and drops their
   * memberships. Worlds are not removable here, as in the original. Resolves with the number removed.
   */
  async removeObject(caller: UserRecord, objectId: string): Promise<number> {
    const { state, object } = this.find(objectId);
    this.requireAdmin(caller, objectId);
    if (object.id === state.id)
      throw forbidden('forbidden', 'worlds cannot be removed through the objects route');
    const doomed = subtreeChildrenFirst(state, objectId);
    for (const o of doomed)
      await this.store.apply(this.store.objectOp(state.id, o.id, { removed: true }, caller.id));
    for (const o of doomed) {
      for (const [userId] of this.access.listMembers(o.id)) await this.access.revoke(o.id, userId);
    }
    this.log.debug({ objectId, removed: doomed.length, by: caller.id }, 'objects removed');
    return doomed.length;
  }

  /**
   * A copy next to the object: same parent, owner, type, assets and options, and its object attributes.
   * Cloning adds a child to the parent, so the caller must also be allowed to do that.
   */
  async cloneObject(caller: UserRecord, objectId: string): Promise<string> {
    const { state, object } = this.find(objectId);
    this.requireAdmin(caller, objectId);
    if (object.id === state.id) throw forbidden('forbidden', 'worlds cannot be cloned');
    const parent = state.objects.get(object.parentId);
    if (!parent || parent.removed) throw notFound('parent_not_found', "the object's parent no longer exists");
    if (!this.mayAddChild(caller, state, parent.id)) {
      throw forbidden('object_creation_not_permitted', 'you cannot create objects in this parent');
    }
    const prefix = `${objectId}!`;
    const attributes = [...state.attributes].filter(([k, a]) => k.startsWith(prefix) && a.value !== null);
    const id = await this.addChild(caller, state, parent, {
      ownerId: object.ownerId,
      typeId: object.typeId,
      name: object.name,
      assetType: object.assetType,
      assetFormat: object.assetFormat,
      transform: besides(this.worlds, state.id, object.transform),
      isEditable: object.isEditable,
      tetheredToParent: object.tetheredToParent,
      showOnMinimap: object.showOnMinimap,
      options: structuredClone(object.options),
    });
    for (const [k, attribute] of attributes) {
      const [, pluginId, name] = k.split('!');
      await this.store.apply(
        this.store.attributeOp(state.id, id, pluginId, name, structuredClone(attribute.value), caller.id),
      );
    }
    return id;
  }

  tree(objectId: string, maxDepth: number): TreeNode {
    const { state, object } = this.find(objectId);
    return objectTree(state, object, maxDepth);
  }

  // ---- members ----

  async members(caller: UserRecord, objectId: string): Promise<MemberView[]> {
    this.find(objectId);
    this.requireAdmin(caller, objectId);
    return Promise.all(
      this.access.listMembers(objectId).map(async ([userId, membership]) => {
        const user = await this.users.get(userId);
        return {
          objectId,
          userId,
          name: user?.name ?? '',
          avatarHash: user?.profile?.avatarHash ?? '',
          role: membership.role,
        };
      }),
    );
  }

  /** Makes a user (by id, or by any form of one of its wallets) an admin member of the object. */
  async grantMember(
    caller: UserRecord,
    objectId: string,
    who: { userId: string } | { wallet: string },
  ): Promise<UserRecord> {
    this.find(objectId);
    this.requireAdmin(caller, objectId);
    const user = 'wallet' in who ? await this.userByWallet(who.wallet) : await this.users.get(who.userId);
    if (!user) throw notFound('user_not_found', 'no such user');
    // Guests are deleted some time after their last session; a membership would outlive them.
    if (user.isGuest) throw invalid('guest_not_permitted', 'guests cannot be members');
    await this.access.grant(objectId, user.id, caller.id);
    return user;
  }

  async revokeMember(caller: UserRecord, objectId: string, userId: string): Promise<void> {
    this.find(objectId);
    this.requireAdmin(caller, objectId);
    if (!(await this.access.revoke(objectId, userId))) {
      throw notFound('member_not_found', 'the user is not a member of this object');
    }
  }

  // ---- internals ----

  private find(objectId: string): { state: WorldState; object: ObjectRecord } {
    const found = this.store.findObject(objectId);
    if (!found) throw notFound('object_not_found', 'object not found');
    return found;
  }

  private findParent(parentId: string): { state: WorldState; object: ObjectRecord } {
    const found = this.store.findObject(parentId);
    if (!found) throw notFound('parent_not_found', 'parent object not found');
    return found;
  }

  private requireAdmin(caller: UserRecord, objectId: string): void {
    if (!this.access.isObjectAdmin(caller, objectId)) throw forbidden('not_admin', 'user is not admin');
  }

  /** Only plain object types go below an object: a World made as a child would not be a world. */
  private requireChildType(typeId: string): void {
    const type = objectTypeOf(typeId);
    if (!type) throw invalid('object_type_not_permitted', `unknown object type ${typeId}`);
    if (type.id === OBJECT_TYPES.world.id || type.id === OBJECT_TYPES.node.id) {
      throw invalid(
        'object_type_not_permitted',
        `objects of type ${type.name} cannot be created as children`,
      );
    }
  }

  private mayAddChild(caller: UserRecord, state: WorldState, parentId: string): boolean {
    // The original let any token spawn anywhere (ODYSSEY_API §6.6): here only admins of the parent, or
    // anyone in a world its owner opened for editing.
    if (this.access.isObjectAdmin(caller, parentId)) return true;
    return state.objects.get(state.id)?.options.publicEditing === true;
  }

  /** Applies a new child of `parent`, holding a place under the child limit while the write is in flight. */
  private async addChild(
    caller: UserRecord,
    state: WorldState,
    parent: ObjectRecord,
    fields: Partial<ObjectFields>,
  ) {
    const pending = this.pendingChildren.get(parent.id) ?? 0;
    if (liveChildCount(state, parent.id) + pending >= this.config.maxChildrenPerObject) {
      throw invalid(
        'child_limit_reached',
        `an object may have at most ${this.config.maxChildrenPerObject} children`,
      );
    }
    this.pendingChildren.set(parent.id, pending + 1);
    const id = randomUUID();
    try {
      await this.store.apply(
        this.store.objectOp(state.id, id, { ...fields, parentId: parent.id }, caller.id),
      );
    } finally {
      const left = (this.pendingChildren.get(parent.id) ?? 1) - 1;
      if (left > 0) this.pendingChildren.set(parent.id, left);
      else this.pendingChildren.delete(parent.id);
    }
    return id;
  }

  private async userByWallet(wallet: string): Promise<UserRecord | undefined> {
    // A malformed wallet is refused as `invalid_wallet`.
    return this.users.byWallet(canonicalWallet(wallet, networkOf(wallet)));
  }
}

/** Asset fields for an asset id: '' or none = no asset; a seeded basic shape keeps its format, others are GLTF. */
function assetFields(asset3dId: string | undefined): Pick<ObjectFields, 'assetType' | 'assetFormat'> {
  if (!asset3dId) return { assetType: NIL, assetFormat: 0 };
  const basic = BASIC_ASSETS.find((a) => a.id === asset3dId);
  return { assetType: asset3dId, assetFormat: basic ? basic.format : 1 };
}

/**
 * The node's worlds on behalf of a user: creating one, listing and describing them, editing them (admins of
 * the world only) and who is in one right now. A world is the object whose worldId is its own id; changes
 * are ops through the world store like any other, so they are persisted and relayed to PosBus.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { forbidden, notFound } from '../../common/errors.ts';
import type { ObjectRecord, UserRecord } from '../../storage/db/records.ts';
import type { UserStore } from '../user/user-store.ts';
import type { Access } from './access.ts';
import { DEFAULT_OBJECT_FIELDS } from './ops.ts';
import { CORE_PLUGIN_ID } from './render.ts';
import { DEFAULT_SKYBOX_HASH, DEFAULT_SPAWN_POINT, OBJECT_TYPES } from './seed.ts';
import type { WorldController } from './world-controller.ts';
import { attributeKey, type WorldState, type WorldStore } from './world-store.ts';

/**
 * A world's description, website link and picture are object attributes of the core plugin on the world
 * object, as in the original: its UI edits them through the attribute routes, so REST and attribute edits
 * must land in the same place. Attribute name and the value field holding the text:
 */
export const WORLD_ATTRIBUTES = {
  description: { name: 'description', field: 'description' },
  websiteLink: { name: 'website_link', field: 'url' },
  avatar: { name: 'world_avatar', field: 'render_hash' },
} as const;

export interface WorldText {
  description?: string;
  websiteLink?: string;
}

export interface WorldView {
  world: ObjectRecord;
  /** null when the owner is no user of this node (e.g. the seed's system user). */
  ownerName: string | null;
  description: string;
  websiteLink: string;
  avatarHash: string;
  /** Sum of all stakes in the world (decimal string; '0' without a chain harvester). */
  stakeTotal: string;
  /** Users staking in the world, highest stake first. */
  stakers: { userId: string; name: string; stake: string; avatarHash: string | null }[];
}

/** Stakes in a world by wallet, from the chain harvester. */
export type WorldStakes = (worldId: string) => Promise<{ wallet: string; amount: string }[]>;

export interface WorldDirectoryComponents {
  store: WorldStore;
  access: Access;
  users: UserStore;
  worlds: Pick<WorldController, 'worldOf' | 'wholeWorld'>;
  /** Users with a live PosBus session; a function because the PosBus server is built after this. */
  online: () => Iterable<string>;
  logger: Logger;
  /** Stakes per world (the harvester's); none when absent. */
  stakes?: WorldStakes;
  config: {
    /** Who may create worlds besides node admins: `users` = any signed-in non-guest. */
    worldCreation: 'admins' | 'users';
  };
}

export class WorldDirectory {
  private readonly store: WorldStore;
  private readonly access: Access;
  private readonly users: UserStore;
  private readonly worlds: WorldDirectoryComponents['worlds'];
  private readonly online: () => Iterable<string>;
  private readonly log: Logger;
  private readonly config: WorldDirectoryComponents['config'];
  private readonly stakes: WorldStakes;

  constructor(components: WorldDirectoryComponents) {
    this.store = components.store;
    this.access = components.access;
    this.users = components.users;
    this.worlds = components.worlds;
    this.online = components.online;
    this.log = components.logger.child({ component: 'worlds' });
    this.config = components.config;
    this.stakes = components.stakes ?? (async () => []);
  }

  isAdmin(user: UserRecord, worldId: string): boolean {
    return this.access.isObjectAdmin(user, worldId);
  }

  mayCreateWorld(user: UserRecord): boolean {
    if (this.access.isNodeAdmin(user)) return true;
    return this.config.worldCreation === 'users' && !user.isGuest;
  }

  /**
   * A new world owned by `owner`, with the seed's spawn point and default skybox. `opts.id` and
   * `opts.system` are for worlds the node itself creates (an Odyssey NFT mint): the id is the token's,
   * and the chain, not the node's world-creation policy, decides who may have one.
   */
  async createWorld(
    owner: UserRecord,
    input: { name: string } & WorldText,
    opts: { id?: string; system?: boolean; actor?: string } = {},
  ): Promise<WorldView> {
    if (!opts.system && !this.mayCreateWorld(owner)) {
      throw forbidden(
        'world_creation_not_permitted',
        this.config.worldCreation === 'users'
          ? 'guests cannot create worlds; sign in with a wallet'
          : 'only node admins can create worlds on this node',
      );
    }
    const id = opts.id ?? randomUUID();
    const actor = opts.actor ?? owner.id;
    await this.store.apply(
      this.store.objectOp(
        id,
        id,
        {
          // Explicit, so that re-creating a removed world with the same id (a re-mint) brings it back.
          removed: false,
          parentId: '',
          ownerId: owner.id,
          typeId: OBJECT_TYPES.world.id,
          name: input.name,
          transform: structuredClone(DEFAULT_OBJECT_FIELDS.transform),
          isEditable: false,
          showOnMinimap: false,
          options: { spawnPoint: structuredClone(DEFAULT_SPAWN_POINT), publicEditing: false },
        },
        actor,
      ),
    );
    await this.store.apply(
      this.store.attributeOp(
        id,
        id,
        CORE_PLUGIN_ID,
        'active_skybox',
        { render_hash: DEFAULT_SKYBOX_HASH },
        actor,
      ),
    );
    await this.writeWorldText(id, input, actor);
    this.log.info({ worldId: id, ownerId: owner.id }, 'world created');
    return this.world(id);
  }

  /** True when this node has the world whole (not the part of a mirror still being pulled). */
  holds(worldId: string): boolean {
    return this.worlds.wholeWorld(worldId) !== undefined;
  }

  async world(worldId: string): Promise<WorldView> {
    return this.view(this.requireWorld(worldId), new Map());
  }

  /** Worlds by creation time, newest first unless `ascending`; only `ownerId`'s when given. */
  async listWorlds(opts: { ascending: boolean; limit: number; ownerId?: string }): Promise<WorldView[]> {
    const states: WorldState[] = [];
    for (const id of this.store.worldIds()) {
      const state = this.worlds.wholeWorld(id);
      const root = state?.objects.get(id);
      if (state && root && (!opts.ownerId || root.ownerId === opts.ownerId)) states.push(state);
    }
    const createdAt = (s: WorldState) => s.objects.get(s.id)?.createdAt ?? 0;
    states.sort((a, b) => (opts.ascending ? createdAt(a) - createdAt(b) : createdAt(b) - createdAt(a)));
    const names = new Map<string, Promise<string | null>>();
    return Promise.all(states.slice(0, opts.limit).map((s) => this.view(s, names)));
  }

  /** Name, description and website link of a world; only its admins may. */
  async patchWorld(caller: UserRecord, worldId: string, patch: { name?: string } & WorldText): Promise<void> {
    this.requireWorld(worldId);
    this.requireAdmin(caller, worldId);
    if (patch.name !== undefined) {
      await this.store.apply(this.store.objectOp(worldId, worldId, { name: patch.name }, caller.id));
    }
    await this.writeWorldText(worldId, patch, caller.id);
  }

  /** The users in the world right now. */
  async onlineUsers(worldId: string): Promise<UserRecord[]> {
    this.requireWorld(worldId);
    const ids = [...this.online()].filter((id) => this.worlds.worldOf(id) === worldId);
    const users = await Promise.all(ids.map((id) => this.users.get(id)));
    return users.filter((u): u is UserRecord => u !== undefined);
  }

  private requireWorld(worldId: string): WorldState {
    // Not the part of a world still being mirrored: it is no world of this node until it is whole.
    const state = this.worlds.wholeWorld(worldId);
    if (!state) throw notFound('world_not_found', 'world not found');
    return state;
  }

  private requireAdmin(caller: UserRecord, worldId: string): void {
    if (!this.access.isObjectAdmin(caller, worldId)) throw forbidden('not_admin', 'user is not admin');
  }

  private async writeWorldText(worldId: string, text: WorldText, actor: string): Promise<void> {
    const writes: [keyof typeof WORLD_ATTRIBUTES, string | undefined][] = [
      ['description', text.description],
      ['websiteLink', text.websiteLink],
    ];
    for (const [which, value] of writes) {
      if (value === undefined) continue;
      const { name, field } = WORLD_ATTRIBUTES[which];
      await this.store.apply(
        this.store.attributeOp(worldId, worldId, CORE_PLUGIN_ID, name, { [field]: value }, actor),
      );
    }
  }

  private async view(state: WorldState, names: Map<string, Promise<string | null>>): Promise<WorldView> {
    const world = state.objects.get(state.id) as ObjectRecord;
    let ownerName = names.get(world.ownerId);
    if (!ownerName) {
      ownerName = this.users.get(world.ownerId).then((u) => u?.name ?? null);
      names.set(world.ownerId, ownerName);
    }
    return {
      world,
      ownerName: await ownerName,
      description: worldAttribute(state, 'description'),
      websiteLink: worldAttribute(state, 'websiteLink'),
      avatarHash: worldAttribute(state, 'avatar'),
      ...(await this.stakeView(state.id)),
    };
  }

  /** Stakes summed per user (a user may stake from several wallets); wallets of no user count in the total only. */
  private async stakeView(worldId: string): Promise<Pick<WorldView, 'stakeTotal' | 'stakers'>> {
    let stakeTotal = 0n;
    const byUser = new Map<string, { user: UserRecord; stake: bigint }>();
    for (const { wallet, amount } of await this.stakes(worldId)) {
      stakeTotal += BigInt(amount);
      const user = await this.users.byWallet(wallet);
      if (!user) continue;
      const entry = byUser.get(user.id) ?? { user, stake: 0n };
      entry.stake += BigInt(amount);
      byUser.set(user.id, entry);
    }
    const stakers = [...byUser.values()]
      .filter((e) => e.stake > 0n)
      .sort((a, b) => (b.stake > a.stake ? 1 : b.stake < a.stake ? -1 : 0))
      .map(({ user, stake }) => ({
        userId: user.id,
        name: user.name,
        stake: `${stake}`,
        avatarHash: user.profile?.avatarHash ?? null,
      }));
    return { stakeTotal: `${stakeTotal}`, stakers };
  }
}

/** The text of one of the world's descriptive attributes, '' when unset. */
export function worldAttribute(state: WorldState, which: keyof typeof WORLD_ATTRIBUTES): string {
  const { name, field } = WORLD_ATTRIBUTES[which];
  const value = state.attributes.get(attributeKey(state.id, CORE_PLUGIN_ID, name))?.value?.[field];
  return typeof value === 'string' ? value : '';
}

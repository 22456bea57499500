/**
 * What Odyssey NFTs do to worlds: the world whose id is the token's odyssey id exists exactly while the
 * NFT does, owned by the user of the wallet holding it. `reconcile` makes the world match the chain state
 * after a block (or a rollback) is committed, so it is idempotent and safe to repeat on start: a mint
 * creates the world (and the minter's user on first sight of the wallet), a transfer moves ownership, and
 * a burn or a rolled-back mint removes the world (a later re-mint of the same id brings it back).
 *
 * The world is created through the world directory and changed through world-store ops, like any other
 * change, so it is persisted and reaches connected clients the usual way.
 */
import type { Logger } from 'pino';
import type { OdysseyWorlds } from '../../harvester/odyssey-worlds.ts';
import type { UserStore } from '../user/user-store.ts';
import { CHAIN_ACTOR } from './ops.ts';
import type { WorldDirectory } from './world-directory.ts';
import type { WorldStore } from './world-store.ts';

export interface NodeOdysseyWorldsComponents {
  users: UserStore;
  directory: WorldDirectory;
  store: WorldStore;
  logger: Logger;
}

export class NodeOdysseyWorlds implements OdysseyWorlds {
  private readonly users: UserStore;
  private readonly directory: WorldDirectory;
  private readonly store: WorldStore;
  private readonly log: Logger;

  constructor(components: NodeOdysseyWorldsComponents) {
    this.users = components.users;
    this.directory = components.directory;
    this.store = components.store;
    this.log = components.logger.child({ component: 'harvester' });
  }

  async reconcile(odysseyId: string, wallet: string | null, name: string): Promise<void> {
    const live = this.store.get(odysseyId)?.objects.get(odysseyId);
    if (wallet === null) {
      if (live) {
        await this.store.apply(this.store.objectOp(odysseyId, odysseyId, { removed: true }, CHAIN_ACTOR));
        this.log.info({ worldId: odysseyId }, 'odyssey NFT gone from the chain: world removed');
      }
      return;
    }
    const { user, created } = await this.users.walletUser(wallet);
    if (created) this.log.info({ userId: user.id, wallet }, 'user created for an odyssey owner');
    if (live) {
      if (live.ownerId !== user.id) {
        await this.store.apply(this.store.objectOp(odysseyId, odysseyId, { ownerId: user.id }, CHAIN_ACTOR));
        this.log.info({ worldId: odysseyId, ownerId: user.id }, 'odyssey transferred: world owner changed');
      }
      return;
    }
    // An object with this id that is not a live world: a world removed earlier (re-mint), or a clash.
    const existing = await this.store.storedObject(odysseyId);
    if (existing && existing.worldId !== odysseyId) {
      this.log.error({ odysseyId }, 'odyssey id is taken by an object that is not a world; no world created');
      return;
    }
    // A removed world (re-mint) comes back: the create's ops are newer than the removal.
    await this.directory.createWorld(user, { name }, { id: odysseyId, system: true, actor: CHAIN_ACTOR });
    this.log.info({ worldId: odysseyId, ownerId: user.id }, 'odyssey minted: world created');
  }
}

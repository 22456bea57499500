/**
 * Object storage as the node runs it: Helia and the asset store on the node's libp2p host (made and
 * stopped by the composition root), the reference index over the world store, and the keeper that pins by
 * it. Started after the world store (it reads every world) and stopped before LevelDB closes.
 */
import type { Libp2p } from '@libp2p/interface';
import type { Logger } from 'pino';
import { AssetStore } from '../../storage/assets/asset-store.ts';
import type { Database } from '../../storage/db/database.ts';
import type { NodeConfig } from '../config.ts';
import type { WorldStore } from '../world/world-store.ts';
import { AssetFetcher } from './asset-fetcher.ts';
import { AssetKeeper } from './asset-keeper.ts';
import { AssetRecordExchange } from './record-exchange.ts';
import { AssetReferences } from './references.ts';
import { type StarterAsset, starterAssets } from './starter.ts';

export interface Assets {
  /** The node's libp2p host, as it was given. */
  host: Libp2p;
  store: AssetStore;
  references: AssetReferences;
  keeper: AssetKeeper;
  /** Fetches from peers what the worlds reference and downloads ask for. */
  fetcher: AssetFetcher;
  /** The shapes and sky every node ships (kept forever). */
  starters: StarterAsset[];
  stop(): Promise<void>;
}

export function assetLimits(c: NodeConfig) {
  return {
    model: c.assetMaxModelBytes,
    texture: c.assetMaxTextureBytes,
    skybox: c.assetMaxSkyboxBytes,
    image: c.assetMaxImageBytes,
  };
}

export async function startAssets(c: {
  config: NodeConfig;
  db: Database;
  worlds: WorldStore;
  logger: Logger;
  /** The node's started libp2p host; its owner stops it after `stop()`. */
  host: Libp2p;
  /**
   * False when the host has no transports (`odyssey-node gc`): there is no one to fetch from, so the
   * fetcher's policy is `none`. Default true.
   */
  networked?: boolean;
  /**
   * The peers bitswap and the asset-record protocol talk to (trusted ones); without it (and without a
   * networked host) this node fetches nothing from anyone.
   */
  isTrusted?: (peerId: string) => boolean;
  /** Import the starter assets if this node has not yet (false for `odyssey-node gc`). Default true. */
  seedStarters?: boolean;
}): Promise<Assets> {
  const host = c.host;
  const store = await AssetStore.open({
    dir: `${c.config.data}/ipfs`,
    cacheDir: `${c.config.data}/cache/renditions`,
    db: c.db,
    libp2p: host,
    limits: assetLimits(c.config),
    allowPeer: c.isTrusted ?? (() => false),
  });
  if (store.ipfs.migratedBlocks)
    c.logger.info(
      { blocks: store.ipfs.migratedBlocks },
      'asset blocks moved from LevelDB into the file blockstore (ipfs/block-files)',
    );
  // What has started so far is stopped again if a later step fails: a failed start releases everything.
  const started: (() => unknown)[] = [() => store.close()];
  const undo = async () => {
    for (const stop of started.reverse()) {
      try {
        await stop();
      } catch {
        // Already failing: the start's own error is the one to report.
      }
    }
  };
  try {
    const references = new AssetReferences(c.worlds);
    references.start();
    started.push(() => references.stop());
    const starters = await starterAssets({
      db: c.db,
      assets: store,
      references,
      store: c.worlds,
      logger: c.logger,
      seed: c.seedStarters ?? true,
    });
    const pinPolicy = c.config.pin;
    const keeper = new AssetKeeper({
      assets: store,
      references,
      graceMs: c.config.assetGcGraceMs,
      keepAlso: (record) => pinPolicy === 'all-trusted' && !!record.fetchedFrom,
      logger: c.logger,
    });
    await keeper.start();
    started.push(() => keeper.stop());
    const isTrusted = c.isTrusted ?? (() => false);
    const records = new AssetRecordExchange({ host, assets: store, isTrusted, logger: c.logger });
    await records.start();
    started.push(() => records.stop());
    const fetcher = new AssetFetcher(
      {
        assets: store,
        references,
        records,
        store: c.worlds,
        selfId: host.peerId.toString(),
        logger: c.logger,
      },
      {
        policy: (c.networked ?? true) ? pinPolicy : 'none',
        quotaBytes: Math.round(c.config.storageQuotaGb * 1e9),
        timeoutMs: c.config.assetFetchTimeoutMs,
        concurrency: c.config.assetFetchConcurrency,
        retryMs: Math.max(5_000, c.config.assetFetchTimeoutMs),
      },
    );
    await fetcher.start();
    return {
      host,
      store,
      references,
      keeper,
      fetcher,
      starters,
      async stop() {
        await fetcher.stop();
        await records.stop();
        await keeper.stop();
        references.stop();
        // Helia only: bitswap leaves the host, which its owner stops afterwards.
        await store.close();
      },
    };
  } catch (e) {
    await undo();
    throw e;
  }
}

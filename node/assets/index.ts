/**
 * Object storage as the node runs it: the libp2p host, Helia and the asset store on it, the reference
 * index over the world store, and the keeper that pins by it. Started after the world store (it reads
 * every world) and stopped before LevelDB closes.
 */
import type { Logger } from 'pino';
import { AssetStore } from '../../storage/assets/asset-store.ts';
import type { Database } from '../../storage/db/database.ts';
import type { NodeConfig } from '../config.ts';
import { createP2pHost, type P2pHost } from '../federation/p2p-host.ts';
import type { WorldStore } from '../world/world-store.ts';
import { AssetFetcher } from './asset-fetcher.ts';
import { AssetKeeper } from './asset-keeper.ts';
import { AssetRecordExchange } from './record-exchange.ts';
import { AssetReferences } from './references.ts';
import { type StarterAsset, starterAssets } from './starter.ts';

export interface Assets {
  /** The node's libp2p host (no transports by default: see p2p-host.ts). */
  host: P2pHost;
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
  version: string;
  /**
   * A started libp2p host owned by someone else (federation), which then also stops it. Without one,
   * object storage creates the node's default host (no transports) and stops it itself.
   */
  host?: P2pHost;
  /**
   * The peers bitswap and the asset-record protocol talk to (trusted ones); without it (and without a
   * networked host) this node fetches nothing from anyone.
   */
  isTrusted?: (peerId: string) => boolean;
  /** Import the starter assets if this node has not yet (false for `odyssey-node gc`). Default true. */
  seedStarters?: boolean;
}): Promise<Assets> {
  const ownHost = !c.host;
  const host =
    c.host ??
    (await createP2pHost({ keyFile: `${c.config.data}/peer-key`, name: 'odyssey-node', version: c.version }));
  let store: AssetStore;
  try {
    store = await AssetStore.open({
      dir: `${c.config.data}/ipfs`,
      cacheDir: `${c.config.data}/cache/renditions`,
      db: c.db,
      libp2p: host,
      limits: assetLimits(c.config),
      allowPeer: c.isTrusted ?? (() => false),
    });
  } catch (e) {
    if (ownHost) await host.stop();
    throw e;
  }
  if (store.ipfs.migratedBlocks)
    c.logger.info(
      { blocks: store.ipfs.migratedBlocks },
      'asset blocks moved from LevelDB into the file blockstore (ipfs/block-files)',
    );
  const references = new AssetReferences(c.worlds);
  references.start();
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
  const isTrusted = c.isTrusted ?? (() => false);
  const records = new AssetRecordExchange({ host, assets: store, isTrusted, logger: c.logger });
  await records.start();
  const fetcher = new AssetFetcher(
    { assets: store, references, records, store: c.worlds, selfId: host.peerId.toString(), logger: c.logger },
    {
      // A host of our own has no transports (`odyssey-node gc`): there is no one to fetch from.
      policy: ownHost ? 'none' : pinPolicy,
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
      // Helia first (bitswap leaves the host), then the host if it is ours.
      await store.close();
      if (ownHost) await host.stop();
    },
  };
}

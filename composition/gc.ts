/**
 * `odyssey-node gc --data DIR`: asset garbage collection on a stopped node's data dir. It loads the
 * worlds (to know what is referenced), sweeps pins as a running node would and collects. A running node
 * holds the LevelDB lock, so this refuses to run next to one: use `POST /api/v4/assets/gc` there.
 */

import { startAssets } from '../node/assets/index.ts';
import type { NodeConfig } from '../node/config.ts';
import { createP2pHost } from '../node/federation/p2p-host.ts';
import { createLogger } from '../node/log.ts';
import { HybridClock } from '../node/world/hlc.ts';
import { WorldStore } from '../node/world/world-store.ts';
import type { GcReport } from '../storage/assets/asset-store.ts';
import { Database } from '../storage/db/database.ts';

export async function collectGarbage(config: NodeConfig, version: string): Promise<GcReport> {
  const logger = createLogger(config.logLevel, config.logFormat);
  const db = new Database(`${config.data}/db`, { logger });
  try {
    await db.open();
  } catch (e) {
    throw new Error(
      `${(e as Error).message} (is a node running on this data dir? then use POST /api/v4/assets/gc)`,
    );
  }
  try {
    const nodeId = ((await db.meta.get('nodeId')) as string | undefined) ?? 'gc';
    const worlds = new WorldStore({ db, clock: new HybridClock(nodeId) });
    await worlds.start();
    // A host with no transports: Helia needs one, and gc talks to no one.
    const host = await createP2pHost({ keyFile: `${config.data}/peer-key`, name: 'odyssey-node', version });
    try {
      const assets = await startAssets({
        config,
        db,
        worlds,
        logger,
        host,
        networked: false,
        seedStarters: false,
      });
      try {
        return await assets.keeper.gc();
      } finally {
        await assets.stop();
      }
    } finally {
      await host.stop();
    }
  } finally {
    await db.close();
  }
}

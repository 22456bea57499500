/**
 * `odyssey-node gc --data DIR`: asset garbage collection on a stopped node's data dir. It loads the
 * worlds (to know what is referenced), sweeps pins as a running node would and collects. A running node
 * holds the LevelDB lock, so this refuses to run next to one: use `POST /api/v4/assets/gc` there.
 */
import type { GcReport } from '../../storage/assets/asset-store.ts';
import { Database } from '../../storage/db/database.ts';
import type { NodeConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { HybridClock } from '../world/hlc.ts';
import { WorldStore } from '../world/world-store.ts';
import { startAssets } from './index.ts';

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
    const assets = await startAssets({ config, db, worlds, logger, version, seedStarters: false });
    try {
      return await assets.keeper.gc();
    } finally {
      await assets.stop();
    }
  } finally {
    await db.close();
  }
}

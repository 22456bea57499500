/** A harvester on a real LevelDB in a temp dir, following a real anvil, for the harvester suites. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type ChainConfig, type EvmChainConfig, evmChainSchema } from '../../harvester/config.ts';
import { Harvester, type HarvesterComponents } from '../../harvester/harvester.ts';
import type { NodeConfig } from '../../node/config.ts';
import { Database } from '../../storage/db/database.ts';
import { type LocalEvm, startEvm } from '../support/chains.ts';
import { startNode, type TestNode } from '../support/node.ts';
import type { Deployed } from './chain.ts';

export const silent = pino({ level: 'silent' });

/** Chain config for anvil with the fixture contracts; fast polling. */
export function anvilChain(rpcUrl: string, d: Deployed, more: Record<string, unknown> = {}): EvmChainConfig {
  return evmChainSchema.parse({
    name: 'anvil',
    chainId: 31337,
    rpcUrl,
    startBlock: 0,
    confirmations: 0,
    pollIntervalMs: 20,
    contracts: { tokens: [d.token, d.dad], odysseyNft: d.nft, staking: d.staking, nodeManagement: d.node },
    ...more,
  });
}

/** anvil with the fixture contracts, and a real node (in process) following it. */
export async function startNodeOnAnvil(): Promise<{ evm: LocalEvm; node: TestNode }> {
  const evm = await startEvm();
  try {
    const chains = [anvilChain(evm.anvil.url, evm.d)] as unknown as NodeConfig['chains'];
    return { evm, node: await startNode({ chains }) };
  } catch (error) {
    await evm.stop();
    throw error;
  }
}

export interface HarvesterHarness {
  db: Database;
  harvester: Harvester;
  dir: string;
  /** Stops the harvester and closes the database; the directory stays. */
  stop(): Promise<void>;
  /** A new database handle and harvester on the same directory. */
  restart(chains?: ChainConfig[]): Promise<HarvesterHarness>;
  cleanup(): Promise<void>;
}

export async function startHarvester(
  chains: ChainConfig[],
  more: Partial<HarvesterComponents> = {},
  dir?: string,
): Promise<HarvesterHarness> {
  const location = dir ?? (await mkdtemp(join(tmpdir(), 'odyssey-harvester-')));
  const db = new Database(join(location, 'db'));
  await db.open();
  const harvester = new Harvester({ db, logger: silent, chains, ...more });
  await harvester.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await harvester.stop();
    await db.close();
  };
  return {
    db,
    harvester,
    dir: location,
    stop,
    restart: async (next = chains) => {
      await stop();
      return startHarvester(next, more, location);
    },
    cleanup: async () => {
      await stop();
      await rm(location, { recursive: true, force: true });
    },
  };
}

/** Polls an async condition until it holds. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Waits until the harvester's checkpoint for the chain reaches `block`. */
export async function processed(h: Harvester, block: number, timeoutMs = 10_000): Promise<void> {
  await until(
    async () => ((await h.store.checkpoint('eip155:31337'))?.number ?? -1) >= block,
    timeoutMs,
    `block ${block}`,
  );
}

/** A derived-state value (see harvester/state.ts for keys), '0' when absent. */
export async function value(h: Harvester, ...parts: string[]): Promise<string> {
  return (await h.store.value(...parts)) ?? '0';
}

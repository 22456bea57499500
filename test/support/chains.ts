/**
 * The local chains the harvester and federation tests run against, started the same way everywhere:
 * - chopsticks in process on 127.0.0.1 (port 0), from the Rococo Asset Hub genesis that
 *   @substrate/connect-known-chains ships (a Kusama-family runtime, SS58 prefix 2), blocks built on
 *   demand (Manual mode, each one finalized at once), with a connected @polkadot/api client;
 * - anvil (a child process) with the project's fixture contracts deployed.
 * Both are real chains; nothing here is faked. Each launcher returns one `stop` that ends what it started.
 */
import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { BlockRef } from '../../harvester/adapter.ts';
import {
  type Anvil,
  type Client,
  type Deployed,
  deployAll,
  startAnvil,
  testClient,
} from '../harvester/chain.ts';

export interface LocalSubstrate {
  /** ws:// URL of the chain's RPC. */
  url: string;
  api: ApiPromise;
  genesisHash: string;
  /** The chain id the harvester gives it (`polkadot:<genesis prefix>`). */
  chainId: string;
  /** A raw RPC call (chopsticks' `dev_*` methods). */
  rpc(method: string, params: unknown[]): Promise<unknown>;
  /** Best block. */
  head(): Promise<BlockRef>;
  /** Builds one block from the pool; resolves with it. */
  newBlock(): Promise<BlockRef>;
  /** An sr25519 dev account (`//Alice`...) with the chain's SS58 prefix (2). */
  account(uri: string): KeyringPair;
  /** Sets an account's free balance in storage (at the next block). */
  fund(who: KeyringPair, free: bigint): Promise<void>;
  /** The runtime's own free balance of an account at a block. */
  freeAt(hash: string, who: KeyringPair): Promise<string>;
  stop(): Promise<void>;
}

type Server = { addr: string; close(): Promise<void> };

export async function startChopsticks(): Promise<LocalSubstrate> {
  process.env.LOG_LEVEL ??= 'error'; // chopsticks' logger reads it on import
  // Imported here, not at the top: the anvil-only suites that use this file never load them.
  const { setupWithServer } = await import('@acala-network/chopsticks');
  const { ApiPromise, Keyring, WsProvider } = await import('@polkadot/api');
  const { chainSpec } = await import('@substrate/connect-known-chains/rococo_v2_2_asset_hub');
  const server = (await setupWithServer({
    genesis: JSON.parse(chainSpec),
    host: '127.0.0.1',
    port: 0,
    'build-block-mode': 'Manual',
    'runtime-log-level': 0,
  } as never)) as Server;
  const url = `ws://${server.addr}`;
  const provider = new WsProvider(url, false);
  let api: InstanceType<typeof ApiPromise>;
  try {
    await provider.connect();
    api = await ApiPromise.create({ provider, noInitWarn: true });
  } catch (error) {
    await provider.disconnect().catch(() => {});
    await server.close();
    throw error;
  }
  const genesisHash = api.genesisHash.toHex();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 2 });
  const rpc = (method: string, params: unknown[]) => provider.send(method, params);
  const head = async () => {
    const header = await api.rpc.chain.getHeader();
    return { number: header.number.toNumber(), hash: header.hash.toHex() };
  };
  return {
    url,
    api,
    genesisHash,
    chainId: `polkadot:${genesisHash.slice(2, 34)}`,
    rpc,
    head,
    newBlock: async () => {
      await rpc('dev_newBlock', [{ count: 1 }]);
      return head();
    },
    account: (uri) => keyring.addFromUri(uri),
    fund: async (who, free) => {
      await rpc('dev_setStorage', [
        { System: { Account: [[[who.address], { providers: 1, data: { free } }]] } },
      ]);
    },
    freeAt: async (hash, who) =>
      `${((await (await api.at(hash)).query.system.account(who.address)) as unknown as { data: { free: bigint } }).data.free}`,
    stop: async () => {
      await api.disconnect().catch(() => {});
      await server.close();
    },
  };
}

export interface LocalEvm {
  anvil: Anvil;
  client: Client;
  /** The fixture contracts. */
  d: Deployed;
  stop(): Promise<void>;
}

/** anvil on a free loopback port with the fixture contracts deployed. */
export async function startEvm(args: string[] = []): Promise<LocalEvm> {
  const anvil = await startAnvil(args);
  try {
    const client = testClient(anvil.url);
    return { anvil, client, d: await deployAll(client), stop: () => anvil.stop() };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

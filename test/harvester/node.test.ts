/**
 * The harvester inside a real node: Odyssey NFT mints become worlds owned by the minter's user (seen in
 * GET /api/v4/worlds), transfers move them, stakes and balances reach the chain routes, and the status
 * route reports the adapter. Config: off by default, a bad chain entry names its key.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { walletUserId } from '../../common/user-id.ts';
import { ODYSSEY_ID_MASK, odysseyIdOf } from '../../harvester/odyssey-id.ts';
import { loadConfig, type NodeConfig } from '../../node/config.ts';
import { walletUser } from '../api/world-fixtures.ts';
import { call } from '../support/http.ts';
import { startNode, type TestNode } from '../support/node.ts';
import {
  type Anvil,
  accounts,
  type Client,
  type Deployed,
  deployAll,
  send,
  startAnvil,
  testClient,
} from './chain.ts';
import { anvilChain, until } from './support.ts';

const [, alice, bob] = accounts.map((a) => a.address.toLowerCase());
const tokenOf = (n: bigint) => n | ODYSSEY_ID_MASK;
const worldOf = (n: bigint) => odysseyIdOf(tokenOf(n)) as string;

interface World {
  id: string;
  owner_id: string;
  name: string;
}

describe('harvester in the node', () => {
  let anvil: Anvil;
  let client: Client;
  let d: Deployed;
  let node: TestNode | undefined;

  const chains = () => [anvilChain(anvil.url, d)] as unknown as NodeConfig['chains'];
  const owner = (worldId: string) => node?.node.store.get(worldId)?.objects.get(worldId)?.ownerId;

  beforeEach(async () => {
    anvil = await startAnvil();
    client = testClient(anvil.url);
    d = await deployAll(client);
  });
  afterEach(async () => {
    await node?.cleanup();
    node = undefined;
    await anvil.stop();
  });

  it('a mint creates a world owned by the minter; a transfer moves it; restart changes nothing', async () => {
    // Only admins may create worlds by hand here: a minted world is the chain's decision, not a request.
    node = await startNode({ chains: chains(), worldCreation: 'admins' });
    await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [alice]);
    const world = worldOf(1n);
    await until(() => owner(world) !== undefined, 10_000, 'minted world');
    const minter = await node.node.users.byWallet(alice);
    expect(minter).toMatchObject({ id: walletUserId(alice), isGuest: false, wallets: [alice] });
    expect(owner(world)).toBe(minter?.id);

    const viewer = await walletUser(node);
    const list = await call<World[]>(node, 'GET', '/api/v4/worlds', { token: viewer.token });
    expect(list.body.find((w) => w.id === world)).toMatchObject({ owner_id: minter?.id, name: 'Odyssey#1' });

    await send(client, d.nft, 'TestOdysseyNFT', 'transferFrom', [alice, bob, tokenOf(1n)], 1);
    await until(async () => owner(world) === (await node?.node.users.byWallet(bob))?.id, 10_000, 'new owner');
    const worlds = node.node.store.worldIds().length;

    node = await node.restart();
    await until(async () => (await node?.node.harvester.status())?.chains[0].health === 'ok');
    expect(node.node.store.worldIds()).toHaveLength(worlds);
    expect(owner(world)).toBe((await node.node.users.byWallet(bob))?.id);
  });

  it('gives a minted world the same owner id on every node following the chain', async () => {
    const first = await startNode({ chains: chains() });
    node = first;
    const second = await startNode({ chains: chains() });
    try {
      const world = worldOf(1n);
      const owners = () => [first, second].map((n) => n.node.store.get(world)?.objects.get(world)?.ownerId);
      await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [alice]);
      await until(() => owners().every((o) => o !== undefined), 10_000, 'minted world on both nodes');
      expect(owners()).toEqual([walletUserId(alice), walletUserId(alice)]);
      await send(client, d.nft, 'TestOdysseyNFT', 'transferFrom', [alice, bob, tokenOf(1n)], 1);
      await until(() => owners().every((o) => o === walletUserId(bob)), 10_000, 'new owner on both nodes');
    } finally {
      await second.cleanup();
    }
  });

  it('answers the chain routes: status, stakes, wallets, top stakers, staked worlds, NFT metadata', async () => {
    node = await startNode({ chains: chains() });
    await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [bob]);
    await send(client, d.token, 'TestToken', 'mint', [alice, 500n]);
    await send(client, d.staking, 'TestStaking', 'stake', [tokenOf(1n), 120n, 0], 1);
    const { block } = await send(client, d.staking, 'TestStaking', 'unstake', [tokenOf(1n), 20n, 0], 1);
    await until(async () => ((await node?.node.harvester.status())?.chains[0].processed ?? 0) >= block);
    const me = await walletUser(node, alice);

    const status = await call<{ enabled: boolean; chains: Record<string, unknown>[] }>(
      node,
      'GET',
      '/api/v4/harvester/status',
      { token: me.token },
    );
    expect(status.body.enabled).toBe(true);
    expect(status.body.chains[0]).toMatchObject({
      name: 'anvil',
      chain_id: 'eip155:31337',
      health: 'ok',
      processed: block,
      lag: 0,
      last_error: null,
    });

    const stakes = await call<Record<string, unknown>[]>(node, 'GET', '/api/v4/users/me/stakes', {
      token: me.token,
    });
    expect(stakes.body).toEqual([
      expect.objectContaining({
        object_id: worldOf(1n),
        name: 'Odyssey#1',
        wallet_id: alice,
        amount: '100',
        kind: 0,
      }),
    ]);
    const wallets = await call<Record<string, unknown>[]>(node, 'GET', '/api/v4/users/me/wallets', {
      token: me.token,
    });
    expect(wallets.body).toEqual([
      expect.objectContaining({
        wallet_id: alice,
        contract_id: d.token.toLowerCase(),
        balance: '500',
        blockchain_name: 'anvil',
        staked: '100',
        unbonding: '20',
      }),
    ]);
    const top = await call(node, 'GET', '/api/v4/users/top-stakers', { token: me.token });
    expect(top.body).toEqual([
      expect.objectContaining({ user_id: me.id, total_stake: '100', stake_count: 1 }),
    ]);
    const staked = await call(node, 'GET', `/api/v4/users/${me.id}/staked-worlds`, { token: me.token });
    expect(staked.body).toEqual([expect.objectContaining({ id: worldOf(1n), name: 'Odyssey#1' })]);

    // The world's stake total and stakers come from the chain too.
    const world = await call(node, 'GET', `/api/v4/worlds/${worldOf(1n)}`, { token: me.token });
    expect(world.body).toMatchObject({
      stake_total: '100',
      stakers: [{ user_id: me.id, name: me.name, stake: '100', avatarHash: null }],
    });

    // Public, as marketplaces fetch it: the decimal token id.
    const meta = await call<Record<string, unknown>>(node, 'GET', `/api/v4/nft/${tokenOf(1n)}`);
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({
      name: 'Odyssey#1',
      attributes: [{ trait_type: 'odyssey_id', value: worldOf(1n) }],
    });
    expect((await call(node, 'GET', '/api/v4/nft/12345')).status).toBe(404);
  });

  it('removes the world of a mint that a reorg dropped, and brings it back for the re-mint', async () => {
    node = await startNode({ chains: chains() });
    const world = worldOf(1n);
    const snapshot = await client.snapshot();
    await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [alice]);
    await until(() => owner(world) !== undefined, 10_000, 'minted world');
    await client.revert({ id: snapshot });
    await client.mine({ blocks: 1 }); // the fork: an empty block where the mint was
    await until(() => owner(world) === undefined, 10_000, 'world removed');
    await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [bob]);
    await until(
      async () => owner(world) === (await node?.node.users.byWallet(bob))?.id,
      10_000,
      'world back',
    );
  });

  it('is off without chains, and says so', async () => {
    node = await startNode();
    const me = await walletUser(node);
    const status = await call(node, 'GET', '/api/v4/harvester/status', { token: me.token });
    expect(status.body).toEqual({ enabled: false, chains: [] });
    expect((await call(node, 'GET', '/api/v4/users/me/stakes', { token: me.token })).body).toEqual([]);
  });

  it('validates chain config at start, naming the key', () => {
    const good = { name: 'arb', preset: 'arbitrum', rpcUrl: 'http://127.0.0.1:1' };
    const config = loadConfig({ env: { ODYSSEY_CHAINS: JSON.stringify([good]) } });
    expect(config.chains[0]).toMatchObject({ chainId: 42161, confirmations: 20, maxBlockRange: 10_000 });
    expect(() => loadConfig({ flags: { chains: JSON.stringify([{ ...good, rpcUrl: 'nope' }]) } })).toThrow(
      /chains\.0\.rpcUrl \(from flag --chains\)/,
    );
    expect(() =>
      loadConfig({ env: { ODYSSEY_CHAINS: JSON.stringify([{ name: 'x', rpcUrl: good.rpcUrl }]) } }),
    ).toThrow(/chains\.0\.chainId \(from environment\): chainId is required without a preset/);
    expect(() => loadConfig({ env: { ODYSSEY_CHAINS: '[{' } })).toThrow(/chains/);
    expect(() => loadConfig({ flags: { chains: [good, { ...good, name: 'arb2' }] } })).toThrow(
      /chains\.1\.chainId.*configured twice/,
    );
  });
});

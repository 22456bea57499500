/**
 * The harvester against a real anvil: events become state, restarts resume without counting twice,
 * confirmations hold blocks back, reorgs roll back and re-apply.
 */
import { join } from 'node:path';
import { foundry } from 'viem/chains';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainTables } from '../../harvester/chain-store.ts';
import { ODYSSEY_ID_MASK, odysseyIdOf } from '../../harvester/odyssey-id.ts';
import type { ChainBlockAnnouncement } from '../../protocol/gossip/index.ts';
import { Database } from '../../storage/db/database.ts';
import {
  type Anvil,
  accounts,
  type Client,
  calldata,
  type Deployed,
  deployAll,
  send,
  startAnvil,
  testClient,
} from './chain.ts';
import { anvilChain, type HarvesterHarness, processed, startHarvester, until, value } from './support.ts';

const CHAIN = 'eip155:31337';
const [, alice, bob, carol] = accounts.map((a) => a.address.toLowerCase());
const odyssey = (n: bigint) => n | ODYSSEY_ID_MASK;
const worldOf = (n: bigint) => odysseyIdOf(odyssey(n)) as string;

describe('harvester on anvil', () => {
  let anvil: Anvil;
  let client: Client;
  let d: Deployed;
  let h: HarvesterHarness | undefined;

  beforeEach(async () => {
    anvil = await startAnvil();
    client = testClient(anvil.url);
    d = await deployAll(client);
  });
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
    await anvil.stop();
  });

  it('turns transfers, mints, stakes and node moves into state', async () => {
    await send(client, d.token, 'TestToken', 'mint', [alice, 1000n]);
    await send(client, d.token, 'TestToken', 'transfer', [bob, 300n], 1);
    await send(client, d.token, 'TestToken', 'approve', [bob, 5n], 1); // ignored
    await send(client, d.dad, 'TestToken', 'mint', [alice, 50n]);
    await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [alice]);
    await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [bob]);
    await send(client, d.nft, 'TestOdysseyNFT', 'transferFrom', [alice, carol, odyssey(1n)], 1);
    await send(client, d.staking, 'TestStaking', 'stake', [odyssey(1n), 100n, 0], 1);
    await send(client, d.staking, 'TestStaking', 'stake', [odyssey(2n), 40n, 1], 1);
    await send(client, d.staking, 'TestStaking', 'unstake', [odyssey(1n), 30n, 0], 1);
    await send(client, d.staking, 'TestStaking', 'restake', [odyssey(1n), odyssey(2n), 20n, 0], 1);
    await send(client, d.node, 'TestNodeManagement', 'moveOdyssey', [1n, 2n, odyssey(1n), true]);
    const last = await send(client, d.node, 'TestNodeManagement', 'moveOdyssey', [
      2n,
      3n,
      odyssey(2n),
      false,
    ]);

    // Every processed block goes to the publisher (the federation's chain topic).
    const published: ChainBlockAnnouncement[] = [];
    h = await startHarvester([anvilChain(anvil.url, d)], {
      publisher: { publish: (b) => published.push(b) },
    });
    await processed(h.harvester, last.block);
    const v = (...k: string[]) => value(h!.harvester, ...k);
    expect(await v('bal', alice, CHAIN, d.token.toLowerCase())).toBe('700');
    expect(await v('bal', bob, CHAIN, d.token.toLowerCase())).toBe('300');
    expect(await v('bal', alice, CHAIN, d.dad.toLowerCase())).toBe('50');
    const nft = d.nft.toLowerCase();
    expect(await v('nft', CHAIN, nft, `${odyssey(1n)}`)).toBe(carol);
    expect(await v('nft', CHAIN, nft, `${odyssey(2n)}`)).toBe(bob);
    expect(await v('own', carol, CHAIN, nft, `${odyssey(1n)}`)).toBe('1');
    expect(await v('own', alice, CHAIN, nft, `${odyssey(1n)}`)).toBe('0');
    expect(worldOf(1n)).toBe('00000000-0000-8000-8000-000000000001');
    // 100 staked − 30 unstaked − 20 restaked to odyssey 2 (the original dropped restakes).
    expect(await v('stake', alice, worldOf(1n), CHAIN, '0')).toBe('50');
    expect(await v('stake', alice, worldOf(2n), CHAIN, '0')).toBe('20');
    expect(await v('stake', alice, worldOf(2n), CHAIN, '1')).toBe('40');
    expect(await v('wstake', worldOf(2n), alice, CHAIN, '0')).toBe('20');
    expect(await v('unbond', alice, CHAIN)).toBe('30');
    // Both names of the node-management event.
    expect(await v('onode', worldOf(1n), CHAIN)).toBe('00000000-0000-0000-0000-000000000002');
    expect(await v('onode', worldOf(2n), CHAIN)).toBe('00000000-0000-0000-0000-000000000003');

    await send(client, d.staking, 'TestStaking', 'claimUnstaked', [], 1);
    const claimed = await client.getBlockNumber();
    await processed(h.harvester, Number(claimed));
    expect(await v('unbond', alice, CHAIN)).toBe('0');

    const kinds: string[] = [];
    for await (const e of chainTables(h.db).events.values()) kinds.push(e.kind);
    expect(kinds.filter((k) => k === 'token.transfer')).toHaveLength(3); // not the Approval
    expect(published.flatMap((b) => b.events)).toHaveLength(kinds.length);
    // Each block links to the previous published block that had events: the same for every publisher.
    const withEvents = published.filter((b) => b.events.length);
    expect(withEvents[0].link).toBeNull();
    for (let i = 1; i < withEvents.length; i++) {
      expect(withEvents[i].link).toEqual({ number: withEvents[i - 1].number, hash: withEvents[i - 1].hash });
    }
    expect(new Set(published.flatMap((b) => b.events.map((e) => `${e.txHash}:${e.logIndex}`))).size).toBe(
      kinds.length,
    );
    expect(new Set(kinds)).toEqual(
      new Set([
        'token.transfer',
        'nft.transfer',
        'stake',
        'unstake',
        'restake',
        'claimed-unstaked',
        'node.odyssey-moved',
      ]),
    );
  });

  it('resumes from its checkpoint after a stop mid-catch-up, and replays without counting twice', async () => {
    await send(client, d.token, 'TestToken', 'mint', [alice, 100n]);
    let last = 0;
    for (let i = 0; i < 30; i++)
      last = (await send(client, d.token, 'TestToken', 'transfer', [bob, 1n], 1)).block;
    // Two blocks per read, and a stop as soon as block +10 is committed: in the middle of the catch-up.
    h = await startHarvester([anvilChain(anvil.url, d, { maxBlockRange: 2 })]);
    const first = h;
    await new Promise<void>((resolve) =>
      first.harvester.on('block', ({ block }) => {
        if (block.number >= d.block + 10) void first.stop().then(resolve);
      }),
    );
    const db = new Database(join(first.dir, 'db'));
    await db.open();
    const stoppedAt = (await chainTables(db).checkpoints.get(CHAIN))?.number ?? 0;
    await db.close();
    expect(stoppedAt).toBeGreaterThanOrEqual(d.block + 10);
    expect(stoppedAt).toBeLessThan(last);
    h = await h.restart();
    await processed(h.harvester, last);
    expect(await value(h.harvester, 'bal', bob, CHAIN, d.token.toLowerCase())).toBe('30');
    expect(await value(h.harvester, 'bal', alice, CHAIN, d.token.toLowerCase())).toBe('70');

    // Forget the checkpoint: every block is read again, every event is already known.
    await h.stop();
    const again = new Database(join(h.dir, 'db'));
    await again.open();
    await chainTables(again).checkpoints.del(CHAIN);
    await again.close();
    h = await h.restart();
    await processed(h.harvester, last);
    expect(await value(h.harvester, 'bal', bob, CHAIN, d.token.toLowerCase())).toBe('30');
    let events = 0;
    for await (const _ of chainTables(h.db).events.keys()) events++;
    expect(events).toBe(31);
  });

  it('waits for the confirmation depth, or for the finalized tag', async () => {
    const { block } = await send(client, d.token, 'TestToken', 'mint', [alice, 5n]);
    h = await startHarvester([anvilChain(anvil.url, d, { confirmations: 3 })]);
    await processed(h.harvester, block - 3);
    await new Promise((r) => setTimeout(r, 150));
    expect(await value(h.harvester, 'bal', alice, CHAIN, d.token.toLowerCase())).toBe('0');
    await client.mine({ blocks: 3 });
    await processed(h.harvester, block);
    expect(await value(h.harvester, 'bal', alice, CHAIN, d.token.toLowerCase())).toBe('5');
    expect((await h.harvester.status()).chains[0]).toMatchObject({ lag: 3, health: 'ok' });
    await h.cleanup();

    // anvil's finalized block is head − 64.
    h = await startHarvester([anvilChain(anvil.url, d, { confirmations: 'finalized' })]);
    await until(async () => (await h!.harvester.status()).chains[0].confirmed !== null);
    expect(await value(h.harvester, 'bal', alice, CHAIN, d.token.toLowerCase())).toBe('0');
    await client.mine({ blocks: 64 });
    await processed(h.harvester, block);
    expect(await value(h.harvester, 'bal', alice, CHAIN, d.token.toLowerCase())).toBe('5');
  });

  it('tracks native balances of watched wallets, and keeps them out of what it publishes to peers', async () => {
    const published: ChainBlockAnnouncement[] = [];
    h = await startHarvester([anvilChain(anvil.url, d, { confirmations: 2, watchWallets: [carol] })], {
      publisher: { publish: (b) => published.push(b) },
    });
    const start = await client.getBalance({ address: accounts[3].address });
    const pay = await client.sendTransaction({
      account: accounts[0],
      to: accounts[3].address,
      value: 1234n,
      chain: foundry,
    });
    await client.waitForTransactionReceipt({ hash: pay, pollingInterval: 10 });
    const { block } = await send(client, d.token, 'TestToken', 'mint', [alice, 3n]);
    expect(await value(h.harvester, 'bal', alice, CHAIN, d.token.toLowerCase())).toBe('0');

    await client.mine({ blocks: 2 });
    await processed(h.harvester, block);
    expect(await value(h.harvester, 'bal', alice, CHAIN, d.token.toLowerCase())).toBe('3');
    expect(await value(h.harvester, 'native', carol, CHAIN)).toBe(`${start + 1234n}`);
    expect(published.flatMap((b) => b.events).map((e) => e.kind)).toEqual(['token.transfer']);
    // A native balance is this node's own sample at the end of a read range: never published to peers.
    expect(published.flatMap((b) => b.events).some((e) => e.kind === 'native.balance')).toBe(false);
  });

  it('rolls back a reorg (anvil_reorg) and applies the new branch', async () => {
    h = await startHarvester([anvilChain(anvil.url, d)]);
    await send(client, d.token, 'TestToken', 'mint', [alice, 100n]);
    const { block } = await send(client, d.token, 'TestToken', 'mint', [bob, 10n]);
    await processed(h.harvester, block);
    const token = d.token.toLowerCase();
    expect(await value(h.harvester, 'bal', bob, CHAIN, token)).toBe('10');
    const reorgs: unknown[] = [];
    h.harvester.on('reorg', (r) => reorgs.push(r));

    // The last two blocks are replaced by two others with one mint to carol instead.
    const data = await calldata('TestToken', 'mint', [carol, 7n]);
    await client.request({
      method: 'anvil_reorg' as never,
      params: [2, [[{ from: accounts[0].address, to: d.token, data }, 0]]] as never,
    });
    await until(() => reorgs.length > 0, 10_000, 'reorg');
    await until(async () => (await value(h!.harvester, 'bal', carol, CHAIN, token)) === '7');
    expect(await value(h.harvester, 'bal', alice, CHAIN, token)).toBe('0');
    expect(await value(h.harvester, 'bal', bob, CHAIN, token)).toBe('0');
    expect((await h.harvester.status()).chains[0].reorgs).toBe(1);
  });

  it('rolls back a reorg made with snapshot and revert', async () => {
    h = await startHarvester([anvilChain(anvil.url, d)]);
    const snapshot = await client.snapshot();
    const { block } = await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [alice]);
    await processed(h.harvester, block);
    const nft = d.nft.toLowerCase();
    expect(await value(h.harvester, 'nft', CHAIN, nft, `${odyssey(1n)}`)).toBe(alice);
    await client.revert({ id: snapshot });
    // Same height, other transaction: the block hash differs.
    await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [bob]);
    await until(async () => (await value(h!.harvester, 'nft', CHAIN, nft, `${odyssey(1n)}`)) === bob);
    expect(await value(h.harvester, 'own', alice, CHAIN, nft, `${odyssey(1n)}`)).toBe('0');
  });
});

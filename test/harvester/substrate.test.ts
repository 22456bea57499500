/**
 * The Substrate adapter against a real runtime: chopsticks in process, on 127.0.0.1, from the Rococo Asset
 * Hub genesis that @substrate/connect-known-chains ships (statemine spec 900, a Kusama-family runtime,
 * SS58 prefix 2). Blocks are built on demand (Manual mode) and count as finalized at once. No Polkadot or
 * Kusama relay-chain node runs here or in CI: their decoding is covered by substrate-decode.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../harvester/adapter.ts';
import { substrateChainSchema } from '../../harvester/config.ts';
import { type LocalSubstrate, startChopsticks } from '../support/chains.ts';
import { type HarvesterHarness, startHarvester, until } from './support.ts';

describe('substrate adapter on chopsticks', () => {
  let chain: LocalSubstrate;
  let url: string;
  let genesisHash: string;
  let h: HarvesterHarness | undefined;

  beforeAll(async () => {
    chain = await startChopsticks();
    ({ url, genesisHash } = chain);
  }, 60_000);

  afterAll(async () => {
    await h?.cleanup();
    await chain?.stop();
  });

  const rpc = (method: string, params: unknown[]) => chain.rpc(method, params);
  const head = () => chain.head();

  it('sees a transfer as balances.transfer with SS58 prefix 2, and rolls back a fork', async () => {
    const { api } = chain;
    const [alice, bob, charlie] = ['//Alice', '//Bob', '//Charlie'].map(chain.account);
    await chain.fund(alice, 10n ** 15n);
    const base = await head();

    const config = substrateChainSchema.parse({
      name: 'asset-hub',
      family: 'substrate',
      rpcUrl: url,
      genesisHash,
      startBlock: base.number,
      pollIntervalMs: 20,
    });
    const chainId = `polkadot:${genesisHash.slice(2, 34)}`;
    h = await startHarvester([config]);
    const seen: ChainEvent[] = [];
    const undone: ChainEvent[] = [];
    h.harvester.on('block', (b) => seen.push(...b.events));
    h.harvester.on('reorg', (r) => undone.push(...r.undone));
    const checkpoint = () => h?.harvester.store.checkpoint(chainId);
    await until(async () => (await checkpoint())?.number === base.number, 10_000, 'start block');

    // A transfer in block base+1.
    const tx1 = (await api.tx.balances.transferKeepAlive(bob.address, 10n ** 12n).signAndSend(alice)).toHex();
    await rpc('dev_newBlock', [{ count: 1 }]);
    const b1 = await head();
    await until(() => seen.some((e) => e.kind === 'balances.transfer'), 10_000, 'transfer');
    const transfer = seen.find((e) => e.kind === 'balances.transfer') as ChainEvent;
    expect(transfer).toMatchObject({
      chainId,
      blockNumber: b1.number,
      blockHash: b1.hash,
      txHash: tx1,
      contract: 'balances',
      from: alice.address,
      to: bob.address,
      amount: `${10n ** 12n}`,
    });
    expect(alice.address.startsWith('H')).toBe(true); // Kusama-style, not generic 5…
    // The fee shows up as the other balance kinds.
    expect(seen.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['balances.withdraw', 'balances.endowed']),
    );
    expect(await h.harvester.store.event(transfer.id)).toMatchObject({ kind: 'balances.transfer' });

    // Fork: back to base, a different transfer in a different block base+1.
    await rpc('dev_setHead', [base.number]);
    const tx2 = (
      await api.tx.balances.transferKeepAlive(charlie.address, 2n * 10n ** 12n).signAndSend(alice)
    ).toHex();
    await rpc('dev_newBlock', [{ count: 1 }]);
    const b1b = await head();
    expect(b1b.number).toBe(b1.number);
    expect(b1b.hash).not.toBe(b1.hash);
    await until(async () => (await checkpoint())?.hash === b1b.hash, 10_000, 'the new branch');
    expect(undone.map((e) => e.id)).toContain(transfer.id);
    expect(await h.harvester.store.event(transfer.id)).toBeUndefined();
    const replacement = seen.find((e) => e.txHash === tx2 && e.kind === 'balances.transfer');
    expect(replacement).toMatchObject({
      blockHash: b1b.hash,
      to: charlie.address,
      amount: `${2n * 10n ** 12n}`,
    });
    expect(await h.harvester.store.event(replacement?.id as string)).toBeDefined();

    const [status] = (await h.harvester.status()).chains;
    expect(status).toMatchObject({
      family: 'substrate',
      chainId,
      health: 'ok',
      head: b1b.number,
      confirmed: b1b.number,
      processed: b1b.number,
      lag: 0,
      lastError: null,
    });
    expect(status.reorgs).toBeGreaterThanOrEqual(1);
    await h.cleanup();
    h = undefined;
  });

  it('reports a wrong genesis hash and an unreachable node in the status, without throwing', async () => {
    const wrong = substrateChainSchema.parse({
      name: 'wrong',
      family: 'substrate',
      rpcUrl: url,
      genesisHash: `0x${'11'.repeat(32)}`,
      pollIntervalMs: 20,
    });
    const dead = substrateChainSchema.parse({
      name: 'dead',
      family: 'substrate',
      rpcUrl: 'ws://127.0.0.1:1',
      genesisHash: `0x${'22'.repeat(32)}`,
      pollIntervalMs: 20,
    });
    h = await startHarvester([wrong, dead]);
    const statuses = async () => (await (h as HarvesterHarness).harvester.status()).chains;
    await until(async () => (await statuses()).every((s) => s.lastError), 10_000, 'both errors');
    const [w, d] = await statuses();
    expect(w).toMatchObject({ health: 'degraded', processed: null });
    expect(w.lastError).toMatch(/genesis/);
    expect(d).toMatchObject({ health: 'degraded', head: null });
    await h.cleanup();
    h = undefined;
  });
});

/**
 * Substrate derived balances on a real node following chopsticks (in process, 127.0.0.1, the Rococo Asset
 * Hub genesis, SS58 prefix 2; see substrate.test.ts): a transfer makes the free balances of the accounts
 * it names appear in `GET /users/me/wallets` of their users, equal to what the runtime holds at that
 * block; a `dev_setHead` fork rolls them back and the new branch's balances replace them.
 */

import { Keyring } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeConfig } from '../../node/config.ts';
import { type LocalSubstrate, startChopsticks } from '../support/chains.ts';
import { call } from '../support/http.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { until } from './support.ts';

type WalletRow = {
  wallet_id: string;
  contract_id: string;
  balance: string;
  blockchain_name: string;
  address: string;
};

describe('substrate derived balances on chopsticks', () => {
  let chain: LocalSubstrate;
  let node: TestNode | undefined;

  beforeAll(async () => {
    chain = await startChopsticks();
  }, 60_000);

  afterAll(async () => {
    await node?.cleanup();
    await chain?.stop();
  });

  it('a transfer shows as free balances; a fork rolls them back', async () => {
    const { api, head, freeAt, rpc, genesisHash, chainId } = chain;
    const [alice, bob, charlie, dave] = ['//Alice', '//Bob', '//Charlie', '//Dave'].map(chain.account);
    await chain.fund(alice, 10n ** 15n);
    const base = await head();
    node = await startNode({
      chains: [
        {
          name: 'asset-hub',
          family: 'substrate',
          rpcUrl: chain.url,
          genesisHash,
          startBlock: base.number,
          pollIntervalMs: 20,
          // Dave is watched too, by a generic-prefix address: the chain's prefix is what is shown.
          accounts: [alice.address, bob.address, charlie.address, new Keyring().addFromUri('//Dave').address],
        },
      ] as unknown as NodeConfig['chains'],
    });
    const n = node;
    const tokenOf = async (who: KeyringPair) => {
      const { user } = await n.node.users.walletUser(u8aToHex(who.publicKey));
      return n.node.tokens.issue(user.id);
    };
    const [aliceToken, bobToken, charlieToken] = await Promise.all([alice, bob, charlie].map(tokenOf));
    const wallets = async (token: string) =>
      (await call<WalletRow[]>(n, 'GET', '/api/v4/users/me/wallets', { token })).body;
    const checkpoint = () => n.node.harvester.store.checkpoint(chainId);
    await until(async () => (await checkpoint())?.number === base.number, 15_000, 'start block');
    expect(await wallets(aliceToken)).toEqual([]); // no balance event seen yet: nothing derived

    await api.tx.balances.transferKeepAlive(bob.address, 10n ** 12n).signAndSend(alice);
    await rpc('dev_newBlock', [{ count: 1 }]);
    const b1 = await head();
    await until(async () => (await checkpoint())?.hash === b1.hash, 15_000, 'the transfer block');

    const aliceFree = await freeAt(b1.hash, alice);
    expect(BigInt(aliceFree)).toBeLessThan(10n ** 15n - 10n ** 12n); // the fee went too
    expect(await wallets(aliceToken)).toEqual([
      expect.objectContaining({
        wallet_id: u8aToHex(alice.publicKey),
        contract_id: 'balances',
        balance: aliceFree,
        transferable: aliceFree,
        blockchain_name: 'asset-hub',
        address: alice.address,
      }),
    ]);
    expect(alice.address.startsWith('H')).toBe(true); // the chain's prefix (2), not the generic 5…
    expect(await wallets(bobToken)).toEqual([
      expect.objectContaining({ balance: `${10n ** 12n}`, address: bob.address }),
    ]);
    expect(await freeAt(b1.hash, bob)).toBe(`${10n ** 12n}`);
    expect(await wallets(charlieToken)).toEqual([]);

    // Fork: back to base, a different transfer (to charlie) in a different block base+1.
    await rpc('dev_setHead', [base.number]);
    await api.tx.balances.transferKeepAlive(charlie.address, 2n * 10n ** 12n).signAndSend(alice);
    await rpc('dev_newBlock', [{ count: 1 }]);
    const b1b = await head();
    expect(b1b.hash).not.toBe(b1.hash);
    await until(async () => (await checkpoint())?.hash === b1b.hash, 15_000, 'the new branch');

    expect(await wallets(bobToken)).toEqual([]); // bob's transfer is gone with its block
    expect(await wallets(charlieToken)).toEqual([
      expect.objectContaining({ balance: `${2n * 10n ** 12n}`, address: charlie.address }),
    ]);
    expect(await wallets(aliceToken)).toEqual([
      expect.objectContaining({ balance: await freeAt(b1b.hash, alice) }),
    ]);
    // Dave was never named by an event: nothing is derived for him.
    expect(await n.node.harvester.queries.freeBalances(u8aToHex(dave.publicKey))).toEqual([]);
  }, 60_000);
});

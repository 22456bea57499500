/**
 * Pending stakes end to end on a real node following anvil: a client reports a stake (REST or PosBus)
 * before it is mined, the world's users get AddPendingStake, the chain's Stake event confirms it and its
 * comment becomes the world's last staking comment; every applied stake/unstake/restake reaches the
 * world as an ActivityUpdate; refusals change nothing. Also: an NFT transfer's new owner reaches an SDK
 * client in the world.
 */
import type { Hex } from 'viem';
import { foundry } from 'viem/chains';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ODYSSEY_ID_MASK, odysseyIdOf } from '../../harvester/odyssey-id.ts';
import { transactionUmid } from '../../node/stakes/stake-controller.ts';
import type { ActivityUpdate, AddPendingStake } from '../../protocol/posbus/types.ts';
import { enter, type SignedIn, walletUser } from '../api/world-fixtures.ts';
import type { LocalEvm } from '../support/chains.ts';
import { call, reason } from '../support/http.ts';
import { guest, type TestClient, type TestNode } from '../support/node.ts';
import { accounts, artifacts, type Client, type Deployed, send } from './chain.ts';
import { startNodeOnAnvil, until } from './support.ts';

const [, alice, bob] = accounts.map((a) => a.address.toLowerCase());
const tokenOf = (n: bigint) => n | ODYSSEY_ID_MASK;
const worldOf = (n: bigint) => odysseyIdOf(tokenOf(n)) as string;

describe('stakes between clients and the chain', () => {
  let evm: LocalEvm;
  let chain: Client;
  let d: Deployed;
  let node: TestNode;
  let me: SignedIn;
  let viewer: TestClient;
  const world = worldOf(1n);

  /** Sends a staking call from alice without mining it: its hash is known before the chain has it. */
  const unmined = async (functionName: string, args: unknown[]): Promise<Hex> => {
    await chain.setAutomine(false);
    return chain.writeContract({
      address: d.staking,
      abi: (await artifacts()).TestStaking.abi,
      functionName,
      args,
      account: accounts[1],
      chain: foundry,
    } as never);
  };
  const mine = async () => {
    await chain.mine({ blocks: 1 });
    await chain.setAutomine(true);
  };
  const activity = (type: string, hash: string) =>
    viewer.client.next('ActivityUpdate', {
      filter: (m: ActivityUpdate) => m.activityType === type && m.data?.bcTxHash === hash,
      timeoutMs: 10_000,
    });

  beforeEach(async () => {
    ({ evm, node } = await startNodeOnAnvil());
    ({ client: chain, d } = evm);
    await send(chain, d.nft, 'TestOdysseyNFT', 'safeMint', [bob]);
    await until(() => node.node.store.get(world) !== undefined, 10_000, 'minted world');
    me = await walletUser(node, alice);
    viewer = await enter(node, world);
  });
  afterEach(async () => {
    await viewer?.client.close();
    await node?.cleanup();
    await evm?.stop();
  });

  it('REST: a pending stake is announced, confirmed by the Stake event, and its comment shown', async () => {
    const hash = await unmined('stake', [tokenOf(1n), 120n, 0]);
    const announced = viewer.client.next('AddPendingStake', { timeoutMs: 5000 });
    const body = {
      transaction_id: hash,
      odyssey_id: world,
      wallet: alice,
      comment: 'to the moon',
      amount: '120',
      kind: '0',
    };
    const res = await call(node, 'POST', '/api/v4/users/me/stakes', { token: me.token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect((await announced) as AddPendingStake).toMatchObject({
      transactionId: transactionUmid(hash),
      odysseyId: world,
      wallet: alice,
      amount: 120n,
      comment: 'to the moon',
      kind: 0,
    });
    expect(await node.node.stakes.pending(hash)).toMatchObject({ userId: me.id, comment: 'to the moon' });
    // Reporting it again is harmless.
    expect((await call(node, 'POST', '/api/v4/users/me/stakes', { token: me.token, body })).status).toBe(200);

    const update = activity('stake', hash);
    await mine();
    expect(await update).toMatchObject({
      changeType: 'new',
      activityType: 'stake',
      userId: me.id,
      objectId: world,
      data: { tokenAmount: '120', tokenSymbol: 'MOM', bcTxHash: hash, bcLogIndex: '0' },
    });
    await until(async () => (await node.node.stakes.pending(hash)) === undefined, 10_000, 'confirmed');

    const details = await call<Record<string, unknown>>(node, 'GET', `/api/v4/worlds/${world}`, {
      token: me.token,
    });
    expect(details.body).toMatchObject({ stake_total: '120', last_staking_comment: 'to the moon' });
    const stakes = await call(node, 'GET', '/api/v4/users/me/stakes', { token: me.token });
    expect(stakes.body).toEqual([
      expect.objectContaining({ object_id: world, amount: '120', last_comment: 'to the moon' }),
    ]);
    const timeline = await call<{ activities: { type: string }[] }>(
      node,
      'GET',
      `/api/v4/objects/${world}/timeline`,
      { token: me.token },
    );
    expect(JSON.stringify(timeline.body)).toContain('stake');

    // Reported after the chain already confirmed it: nothing stays pending.
    const late = await send(chain, d.staking, 'TestStaking', 'stake', [tokenOf(1n), 5n, 0], 1);
    await until(async () => (await node.node.harvester.status()).chains[0].processed === late.block);
    const again = await call(node, 'POST', '/api/v4/users/me/stakes', {
      token: me.token,
      body: { ...body, transaction_id: late.hash, amount: '5', comment: 'a bit more' },
    });
    expect(again.status).toBe(200);
    expect(await node.node.stakes.pending(late.hash)).toBeUndefined();
    expect(await node.node.stakes.lastComment(world)).toBe('a bit more');
  });

  it('PosBus: UserStakedToOdyssey goes the same way; short hashes are refused without harm', async () => {
    const staker = await enter(node, world, me);
    try {
      // The original crashed on these (it stripped a `0x` blindly).
      staker.client.send({
        type: 'UserStakedToOdyssey',
        transactionHash: '',
        wallet: 'x',
        objectId: world,
        amount: '1',
        comment: '',
        kind: 0,
      });
      const hash = await unmined('stake', [tokenOf(1n), 7n, 1]);
      const announced = viewer.client.next('AddPendingStake', { timeoutMs: 5000 });
      staker.client.send({
        type: 'UserStakedToOdyssey',
        transactionHash: hash,
        wallet: alice,
        objectId: world,
        amount: '7',
        comment: 'via posbus',
        kind: 1,
      });
      expect(await announced).toMatchObject({ wallet: alice, amount: 7n, comment: 'via posbus', kind: 1 });
      const update = activity('stake', hash);
      await mine();
      expect(await update).toMatchObject({ data: { tokenAmount: '7', tokenSymbol: 'DAD' } });
      await until(
        async () => (await node.node.stakes.lastComment(world)) === 'via posbus',
        10_000,
        'comment',
      );
      expect(await node.node.stakes.pending(hash)).toBeUndefined();
    } finally {
      await staker.client.close();
    }
  });

  it('unstake and restake reach the world as ActivityUpdates', async () => {
    await send(chain, d.nft, 'TestOdysseyNFT', 'safeMint', [bob]);
    await until(() => node.node.store.get(worldOf(2n)) !== undefined, 10_000, 'second world');
    await send(chain, d.staking, 'TestStaking', 'stake', [tokenOf(1n), 50n, 0], 1);
    const unstaking = await unmined('unstake', [tokenOf(1n), 10n, 0]);
    let update = activity('unstake', unstaking);
    await mine();
    expect(await update).toMatchObject({ objectId: world, data: { tokenAmount: '10' } });
    const restaking = await unmined('restake', [tokenOf(1n), tokenOf(2n), 15n, 0]);
    update = activity('unstake', restaking);
    await mine();
    expect(await update).toMatchObject({ objectId: world, data: { tokenAmount: '15' } });
    // The restake's activity on the second world is written after the first world's update went out.
    const timeline = async () =>
      JSON.stringify(
        (
          await call<{ activities: { type: string }[] }>(
            node,
            'GET',
            `/api/v4/objects/${worldOf(2n)}/timeline`,
            {
              token: me.token,
            },
          )
        ).body,
      );
    await until(
      async () => (await timeline()).includes(restaking),
      10_000,
      'the restake on the second world',
    );
    expect(await timeline()).toContain(restaking);
  });

  it('refuses a wallet that is not the caller’s, an unknown world, and malformed input', async () => {
    const body = {
      transaction_id: `0x${'ab'.repeat(32)}`,
      odyssey_id: world,
      wallet: alice,
      comment: '',
      amount: '1',
      kind: '0',
    };
    const post = (token: string, b: Record<string, unknown>) =>
      call(node, 'POST', '/api/v4/users/me/stakes', { token, body: { ...body, ...b } });
    const other = await walletUser(node);
    const cases: [string, Record<string, unknown>, number, string][] = [
      [other.token, {}, 403, 'wallet_not_yours'],
      [(await guest(node)).token, {}, 403, 'wallet_not_yours'],
      [me.token, { wallet: bob }, 403, 'wallet_not_yours'],
      [me.token, { odyssey_id: '5e1f0d2c-7a41-4c39-9b1e-0d0000000999' }, 404, 'world_not_found'],
      [me.token, { amount: '1.5' }, 400, 'invalid_request'],
      [me.token, { amount: '0' }, 400, 'invalid_amount'],
      [me.token, { transaction_id: '0x' }, 400, 'invalid_transaction'],
      [me.token, { wallet: 'x' }, 400, 'invalid_wallet'],
    ];
    for (const [token, b, status, why] of cases) {
      const res = await post(token, b);
      expect([res.status, reason(res)], JSON.stringify(b)).toEqual([status, why]);
    }
    expect(await node.node.stakes.pending(body.transaction_id)).toBeUndefined();
  });

  it('an NFT transfer: a client in the world sees the world re-sent and the new owner on entry', async () => {
    const changed = viewer.client.next('AddObjects', {
      filter: (m: { objects: { id: string }[] }) => m.objects.some((o) => o.id === world),
      timeoutMs: 10_000,
    });
    await chain.setBalance({ address: bob as Hex, value: 10n ** 20n }); // gas for bob's transfer
    await send(chain, d.nft, 'TestOdysseyNFT', 'transferFrom', [bob, alice, tokenOf(1n)], 2);
    await changed;
    await until(
      () => node.node.store.get(world)?.objects.get(world)?.ownerId === me.id,
      10_000,
      'owner changed',
    );
    const late = await enter(node, world);
    try {
      const set = late.received.find((m) => m.type === 'SetWorld');
      expect(set).toMatchObject({ id: world, owner: me.id });
    } finally {
      await late.client.close();
    }
  });
});

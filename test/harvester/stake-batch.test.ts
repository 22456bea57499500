/**
 * A block's stake effects (the pending stake it confirms, the comment, the timeline activity) are written
 * in the block's own LevelDB batch: on a real node following anvil, with real LevelDB, a "crash" right
 * after the block's batch (every later write refused, as if the process had died) loses none of them,
 * and a failed block batch writes none of them, the retry writing them exactly once. Failures are
 * injected by wrapping the node's real LevelDB handle; nothing else is faked.
 *
 * A reorg that drops a stake removes its activity in the rollback's batch.
 *
 * Also: pending stakes the chain never confirms expire after --pending-stake-ttl-ms, and the world's
 * users are told (PosBus GenericMessage `pending-stake-removed`), as they are when one is confirmed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Hex } from 'viem';
import { foundry } from 'viem/chains';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainTables } from '../../harvester/chain-store.ts';
import { ODYSSEY_ID_MASK, odysseyIdOf } from '../../harvester/odyssey-id.ts';
import { PENDING_STAKE_REMOVED, type PendingStakeRemoved } from '../../node/stakes/stake-controller.ts';
import type { ActivityUpdate, GenericMessage } from '../../protocol/posbus/types.ts';
import type { PendingStakeRecord, StakeCommentRecord } from '../../storage/db/chain-records.ts';
import type { ActivityRecord } from '../../storage/db/records.ts';
import { createWorld, enter, type SignedIn, walletUser } from '../api/world-fixtures.ts';
import type { LocalEvm } from '../support/chains.ts';
import { call, reason } from '../support/http.ts';
import { startNode, type TestClient, type TestNode } from '../support/node.ts';
import { accounts, artifacts, type Client, type Deployed, send } from './chain.ts';
import { startNodeOnAnvil, until } from './support.ts';

const [, alice, bob] = accounts.map((a) => a.address.toLowerCase());
const tokenOf = (n: bigint) => n | ODYSSEY_ID_MASK;
const world = odysseyIdOf(tokenOf(1n)) as string;
const CHAIN = 'eip155:31337';

type Batch = (ops?: unknown, ...rest: unknown[]) => unknown;
type Write = (...args: unknown[]) => Promise<unknown>;
type Level = { batch: Batch; put: Write; del: Write };

const removedMessage = (client: TestClient, tx: string, timeoutMs = 10_000) =>
  client.client.next('GenericMessage', {
    filter: (m: GenericMessage) =>
      m.topic === PENDING_STAKE_REMOVED && new TextDecoder().decode(m.data).includes(tx),
    timeoutMs,
  });
const removedBody = (m: GenericMessage) =>
  JSON.parse(new TextDecoder().decode(m.data)) as PendingStakeRemoved;

describe('stake effects in the block batch', () => {
  let evm: LocalEvm;
  let chain: Client;
  let d: Deployed;
  let node: TestNode;
  let me: SignedIn;
  let viewer: TestClient | undefined;
  let restore: (() => void) | undefined;

  /** The stake transaction, sent but not mined (automine off) so it can be reported first. */
  const unminedStake = async (amount: bigint): Promise<Hex> => {
    await chain.setAutomine(false);
    return chain.writeContract({
      address: d.staking,
      abi: (await artifacts()).TestStaking.abi,
      functionName: 'stake',
      args: [tokenOf(1n), amount, 0],
      account: accounts[1],
      chain: foundry,
    } as never);
  };
  const mine = async () => {
    await chain.mine({ blocks: 1 });
    await chain.setAutomine(true);
  };
  const report = (hash: string, comment: string) =>
    call(node, 'POST', '/api/v4/users/me/stakes', {
      token: me.token,
      body: { transaction_id: hash, odyssey_id: world, wallet: alice, comment, amount: '40', kind: '0' },
    });
  /** Activities stored for a transaction, read from LevelDB. */
  const activitiesOf = async (n: TestNode, tx: string) => {
    const out: ActivityRecord[] = [];
    for await (const a of n.node.db.sublevel<ActivityRecord>('activities').values())
      if (a.data.bcTxHash === tx) out.push(a);
    return out;
  };
  /** Wraps the node's LevelDB writes; `hook` sees every batch's ops before it is written. */
  const intercept = (hook: (ops: unknown[], write: () => Promise<unknown>) => Promise<unknown>) => {
    const level = node.node.db.level as unknown as Level;
    const original = { batch: level.batch, put: level.put, del: level.del };
    let dead = false;
    level.batch = function (this: unknown, ops?: unknown, ...rest: unknown[]) {
      if (!Array.isArray(ops)) return original.batch.call(level, ops, ...rest);
      if (dead) return Promise.reject(new Error('process died'));
      return hook(ops, () => original.batch.call(level, ops, ...rest) as Promise<unknown>);
    };
    level.put = (...args) =>
      dead ? Promise.reject(new Error('process died')) : original.put.apply(level, args);
    level.del = (...args) =>
      dead ? Promise.reject(new Error('process died')) : original.del.apply(level, args);
    restore = () => Object.assign(level, original);
    return {
      die: () => {
        dead = true;
      },
    };
  };
  /** True when a batch writes the chain event of transaction `tx`. */
  const writesEventOf = (ops: unknown[], tx: string) =>
    ops.some((op) => {
      const o = op as { sublevel?: { prefix?: string }; value?: { txHash?: string } };
      // A table is one sublevel object per declaration: the chain events' is told by its key prefix.
      return o.sublevel?.prefix === chainTables(node.node.db).events.prefix && o.value?.txHash === tx;
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
    restore?.();
    restore = undefined;
    await viewer?.client.close();
    await node?.cleanup();
    await evm?.stop();
  });

  it('a crash right after the block batch loses none of its stake effects', async () => {
    const hash = await unminedStake(40n);
    expect((await report(hash, 'all in')).status).toBe(200);
    const { die } = intercept(async (ops, write) => {
      const result = await write();
      // Whatever the node writes after the block's batch is lost: the process is gone.
      if (writesEventOf(ops, hash)) die();
      return result;
    });
    await mine();
    await until(async () => (await chainTables(node.node.db).events.get(`${CHAIN}:${hash}:0`)) !== undefined);
    // Everything the stake does was in that one batch.
    expect(await node.node.db.sublevel<PendingStakeRecord>('pending-stakes').get(hash)).toBeUndefined();
    expect(
      (await node.node.db.sublevel<StakeCommentRecord>('stake-comments').get(`world!${world}`))?.comment,
    ).toBe('all in');
    expect(await activitiesOf(node, hash)).toHaveLength(1);

    restore?.();
    restore = undefined;
    await viewer?.client.close();
    viewer = undefined;
    node = await node.restart();
    const later = await send(chain, d.staking, 'TestStaking', 'stake', [tokenOf(1n), 1n, 0], 1);
    await until(async () => (await node.node.harvester.status()).chains[0].processed === later.block);
    expect(await node.node.stakes.pending(hash)).toBeUndefined();
    expect(await node.node.stakes.lastComment(world)).toBe('all in');
    expect(await activitiesOf(node, hash)).toHaveLength(1);
  });

  it('a failed block batch writes none of them; the retry writes them once and tells the world', async () => {
    const hash = await unminedStake(40n);
    expect((await report(hash, 'second try')).status).toBe(200);
    const confirmed = removedMessage(viewer as TestClient, hash);
    const activity = (viewer as TestClient).client.next('ActivityUpdate', {
      filter: (m: ActivityUpdate) => m.data?.bcTxHash === hash,
      timeoutMs: 10_000,
    });
    let failures = 0;
    let between: unknown[] | undefined;
    intercept(async (ops, write) => {
      if (!writesEventOf(ops, hash) || failures) return write();
      failures++;
      // What the database holds right after the block's batch failed: none of the block's effects.
      between = [
        await chainTables(node.node.db).events.get(`${CHAIN}:${hash}:0`),
        (await node.node.db.sublevel<PendingStakeRecord>('pending-stakes').get(hash))?.comment,
        await node.node.db.sublevel<StakeCommentRecord>('stake-comments').get(`world!${world}`),
        (await activitiesOf(node, hash)).length,
      ];
      throw new Error('disk full');
    });
    await mine();
    expect(removedBody((await confirmed) as GenericMessage)).toEqual({
      transaction_id: hash,
      odyssey_id: world,
      wallet: alice,
      reason: 'confirmed',
    });
    expect(await activity).toMatchObject({ activityType: 'stake', data: { tokenAmount: '40' } });
    expect(failures).toBe(1);
    expect(between).toEqual([undefined, 'second try', undefined, 0]);
    expect(await node.node.db.sublevel<PendingStakeRecord>('pending-stakes').get(hash)).toBeUndefined();
    expect(await node.node.stakes.lastComment(world)).toBe('second try');
    expect(await activitiesOf(node, hash)).toHaveLength(1);
    const timeline = await call<{ activities: { activity_id: string }[]; total_count?: number }>(
      node,
      'GET',
      `/api/v4/objects/${world}/timeline`,
      { token: me.token },
    );
    expect(JSON.stringify(timeline.body).split(hash).length - 1).toBe(1);
  });

  it('a reorg that drops a stake removes its activity in the rollback batch, and tells the world', async () => {
    const added = (viewer as TestClient).client.next('ActivityUpdate', {
      filter: (m: ActivityUpdate) => m.changeType === 'new' && m.activityType === 'stake',
      timeoutMs: 10_000,
    });
    const staked = await send(chain, d.staking, 'TestStaking', 'stake', [tokenOf(1n), 25n, 0], 1);
    const activityId = ((await added) as ActivityUpdate).activityId;
    expect(await activitiesOf(node, staked.hash)).toHaveLength(1);
    const removed = (viewer as TestClient).client.next('ActivityUpdate', {
      filter: (m: ActivityUpdate) => m.changeType === 'removed' && m.activityId === activityId,
      timeoutMs: 10_000,
    });
    // The stake's block is replaced by an empty one.
    await chain.request({ method: 'anvil_reorg' as never, params: [1, []] as never });
    await removed;
    expect(await activitiesOf(node, staked.hash)).toEqual([]);
    expect(await node.node.db.sublevel<string>('chain-activities').keys().all()).toEqual([]);
    expect(await node.node.harvester.queries.worldStakes(world)).toEqual([]);
    const timeline = await call<{ activities: unknown[] }>(node, 'GET', `/api/v4/objects/${world}/timeline`, {
      token: me.token,
    });
    expect(JSON.stringify(timeline.body)).not.toContain(staked.hash);
  });
});

describe('pending stakes the chain never confirms', () => {
  let node: TestNode;
  let viewer: TestClient | undefined;
  afterEach(async () => {
    await viewer?.client.close();
    await node?.cleanup();
  });

  it('expire after the TTL: they leave the world’s pending list and its users are told', async () => {
    node = await startNode({ pendingStakeTtlMs: 1000 });
    const me = await walletUser(node);
    const worldId = await createWorld(node, me.token);
    viewer = await enter(node, worldId);
    const tx = `0x${randomBytes(32).toString('hex')}`;
    const body = { transaction_id: tx, odyssey_id: worldId, wallet: me.wallet, comment: 'soon', amount: '9' };
    const reportedAt = Date.now();
    const res = await call(node, 'POST', '/api/v4/users/me/stakes', {
      token: me.token,
      body: { ...body, kind: '0' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const removed = removedMessage(viewer, tx, 5000);
    const list = () =>
      call<Record<string, unknown>[]>(node, 'GET', `/api/v4/worlds/${worldId}/pending-stakes`, {
        token: me.token,
      });
    const before = await list();
    expect(before.status).toBe(200);
    expect(before.body).toEqual([
      expect.objectContaining({ transaction_id: tx, odyssey_id: worldId, wallet: me.wallet, amount: '9' }),
    ]);
    const { created_at, expires_at } = before.body[0] as { created_at: string; expires_at: string };
    expect(Date.parse(expires_at) - Date.parse(created_at)).toBe(1000);

    expect(removedBody((await removed) as GenericMessage)).toEqual({
      transaction_id: tx,
      odyssey_id: worldId,
      wallet: me.wallet,
      reason: 'expired',
    });
    expect(Date.now() - reportedAt).toBeGreaterThanOrEqual(1000);
    expect(await node.node.stakes.pending(tx)).toBeUndefined();
    expect((await list()).body).toEqual([]);
    const unknown = await call(node, 'GET', `/api/v4/worlds/${randomUUID()}/pending-stakes`, {
      token: me.token,
    });
    expect([unknown.status, reason(unknown)]).toEqual([404, 'world_not_found']);
    // Nothing else expires: a fresh report stays pending until its own TTL.
    const fresh = `0x${randomBytes(32).toString('hex')}`;
    await call(node, 'POST', '/api/v4/users/me/stakes', {
      token: me.token,
      body: { ...body, transaction_id: fresh, kind: '0' },
    });
    expect(await node.node.stakes.expire()).toBe(0);
    expect(await node.node.stakes.expire(Date.now() + 1000)).toBe(1);
    expect(await node.node.stakes.pendingOf(worldId)).toEqual([]);
  });

  it('expire across a restart: the age is kept with the stake', async () => {
    node = await startNode();
    const me = await walletUser(node);
    const worldId = await createWorld(node, me.token);
    const tx = `0x${randomBytes(32).toString('hex')}`;
    const res = await call(node, 'POST', '/api/v4/users/me/stakes', {
      token: me.token,
      body: { transaction_id: tx, odyssey_id: worldId, wallet: me.wallet, comment: '', amount: '3', kind: 1 },
    });
    expect(res.status).toBe(200);
    node = await node.restart({ pendingStakeTtlMs: 1000 });
    expect(await node.node.stakes.pending(tx)).toBeDefined();
    await until(async () => (await node.node.stakes.pending(tx)) === undefined, 5000, 'expired');
  });
});

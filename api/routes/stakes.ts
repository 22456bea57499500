/**
 * The original's chain-derived routes (a user's wallets and stakes, pending stakes of a world, the worlds
 * a user stakes in, top stakers, NFT metadata), answered from the harvested chain state. With no chain
 * configured they answer empty lists, as the original did without a chain listener.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { notFound } from '../../common/errors.ts';
import { odysseyIdOf, odysseySequence } from '../../harvester/odyssey-id.ts';
import type { StakeRow } from '../../harvester/queries.ts';
import { total } from '../../harvester/queries.ts';
import { MAX_STAKE_COMMENT } from '../../node/stakes/stake-controller.ts';
import type { UserRecord } from '../../node/user/user-store.ts';
import type { ApiComponents } from '../env.ts';
import { byUser, rateLimit } from '../middleware/rate-limit.ts';
import { bearer, errors, json, limitQuery, routes, umid, umidParam } from '../validation.ts';

export function stakeRoutes(c: ApiComponents) {
  const app = routes();
  const q = c.harvester.queries;

  /** The worlds a set of stake rows name, looked up once each; rows of unknown worlds are dropped. */
  const worldsOf = async (rows: StakeRow[]) => {
    const views = new Map<string, Awaited<ReturnType<typeof c.worldDirectory.world>>>();
    for (const id of new Set(rows.map((r) => r.odysseyId))) {
      if (c.store.get(id)) views.set(id, await c.worldDirectory.world(id));
    }
    return views;
  };
  const stakesOfUser = async (user: UserRecord) =>
    (await Promise.all((user.wallets ?? []).map((w) => q.stakesOf(w)))).flat();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/users/me/wallets',
      tags: ['chain'],
      summary:
        "The caller's token balances per wallet and contract; Substrate wallets: free balance per chain (with the SS58 address)",
      security: bearer,
      responses: { 200: { description: 'balances', ...json(z.array(z.record(z.string(), z.unknown()))) } },
    }),
    async (ctx) => {
      const me = ctx.get('user');
      const rows = [];
      for (const wallet of me.wallets ?? []) {
        const stakes = await q.stakesOf(wallet);
        const unbonding = await q.unbonding(wallet);
        for (const b of await q.balances(wallet)) {
          const mine = stakes.filter((s) => s.chainId === b.chainId && s.token === b.tokenIndex);
          rows.push({
            wallet_id: wallet,
            contract_id: b.contract,
            balance: b.balance,
            blockchain_name: b.chain,
            updated_at: new Date().toISOString(),
            reward: '0',
            transferable: b.balance,
            staked: total(mine.map((s) => s.amount)),
            unbonding: b.tokenIndex === 0 ? (unbonding.get(b.chainId) ?? '0') : '0',
          });
        }
        // Substrate wallets: the native free balance per followed chain; `contract_id` names the pallet.
        for (const b of await q.freeBalances(wallet)) {
          rows.push({
            wallet_id: wallet,
            contract_id: 'balances',
            balance: b.free,
            blockchain_name: b.chain,
            updated_at: new Date().toISOString(),
            reward: '0',
            transferable: b.free,
            staked: '0',
            unbonding: '0',
            address: b.address,
          });
        }
      }
      return ctx.json(rows, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/users/me/stakes',
      tags: ['chain'],
      summary: "The caller's stakes, per world, wallet and token",
      security: bearer,
      responses: { 200: { description: 'stakes', ...json(z.array(z.record(z.string(), z.unknown()))) } },
    }),
    async (ctx) => {
      const rows = await stakesOfUser(ctx.get('user'));
      const worlds = await worldsOf(rows);
      return ctx.json(
        await Promise.all(
          rows.map(async (r) => ({
            object_id: r.odysseyId,
            name: worlds.get(r.odysseyId)?.world.name ?? '',
            wallet_id: r.wallet,
            blockchain_id: r.chain,
            amount: r.amount,
            reward: '0',
            last_comment: await c.stakes.commentOf(r.wallet, r.odysseyId),
            avatar_hash: worlds.get(r.odysseyId)?.avatarHash ?? '',
            updated_at: new Date().toISOString(),
            kind: r.token,
          })),
        ),
        200,
      );
    },
  );

  // Pending stakes are claims nobody has verified yet: bounded per user like other writes.
  app.on(
    'POST',
    '/users/me/stakes',
    rateLimit(c.config.stakeReportsPerMinute, c.config.stakeReportsPerMinute, byUser),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/users/me/stakes',
      tags: ['chain'],
      summary:
        'Report a stake just sent from one of your wallets: kept as pending until the chain confirms it',
      security: bearer,
      request: {
        body: {
          required: true,
          ...json(
            z.object({
              transaction_id: z.string().max(100),
              odyssey_id: umid,
              wallet: z.string().max(100),
              comment: z.string().max(MAX_STAKE_COMMENT),
              amount: z.string().regex(/^\d{1,78}$/, 'expected a decimal integer'),
              // The original's clients send it as a string; PosBus carries an int.
              kind: z.union([z.string().regex(/^\d{1,3}$/), z.number().int()]),
            }),
          ),
        },
      },
      responses: {
        200: { description: 'stored (or already known)', ...json(z.object({ success: z.boolean() })) },
        ...errors(400, 401, 403, 404),
      },
    }),
    async (ctx) => {
      const b = ctx.req.valid('json');
      await c.stakes.report(ctx.get('user'), {
        transactionId: b.transaction_id,
        odysseyId: b.odyssey_id,
        wallet: b.wallet,
        comment: b.comment,
        amount: b.amount,
        kind: Number(b.kind),
      });
      return ctx.json({ success: true }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/worlds/{worldID}/pending-stakes',
      tags: ['chain'],
      summary:
        "The world's pending stakes: reported, not yet confirmed by the chain nor expired; oldest first",
      security: bearer,
      request: { params: umidParam('worldID') },
      responses: {
        200: { description: 'pending stakes', ...json(z.array(z.record(z.string(), z.unknown()))) },
        ...errors(400, 401, 404),
      },
    }),
    async (ctx) => {
      const worldId = ctx.req.valid('param').worldID;
      if (!c.store.get(worldId)) throw notFound('world_not_found', `no world ${worldId}`);
      const rows = (await c.stakes.pendingOf(worldId)).map((p) => ({
        transaction_id: p.transactionId,
        odyssey_id: p.odysseyId,
        wallet: p.wallet,
        amount: p.amount,
        comment: p.comment,
        kind: p.kind,
        created_at: new Date(p.createdAt).toISOString(),
        expires_at: new Date(c.stakes.expiresAt(p)).toISOString(),
      }));
      return ctx.json(rows, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/users/top-stakers',
      tags: ['chain'],
      summary: 'Users by total stake, highest first',
      security: bearer,
      request: { query: z.object({ limit: limitQuery(100, 20) }) },
      responses: { 200: { description: 'stakers', ...json(z.array(z.record(z.string(), z.unknown()))) } },
    }),
    async (ctx) => {
      const byUser = new Map<string, { user: UserRecord; amounts: string[]; worlds: Set<string> }>();
      for (const s of await q.allStakes()) {
        const user = await c.users.byWallet(s.wallet);
        if (!user) continue;
        const entry = byUser.get(user.id) ?? { user, amounts: [], worlds: new Set() };
        entry.amounts.push(s.amount);
        entry.worlds.add(s.odysseyId);
        byUser.set(user.id, entry);
      }
      const rows = [...byUser.values()]
        .map((e) => ({
          user_id: e.user.id,
          name: e.user.name,
          total_stake: total(e.amounts),
          stake_count: e.worlds.size,
          avatarHash: e.user.profile?.avatarHash ?? null,
        }))
        .sort((a, b) => (BigInt(b.total_stake) > BigInt(a.total_stake) ? 1 : -1))
        .slice(0, ctx.req.valid('query').limit);
      return ctx.json(rows, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/users/{userID}/staked-worlds',
      tags: ['chain'],
      summary: "The worlds a user's wallets stake in",
      security: bearer,
      request: { params: umidParam('userID') },
      responses: {
        200: { description: 'worlds', ...json(z.array(z.record(z.string(), z.unknown()))) },
        ...errors(400, 401, 404),
      },
    }),
    async (ctx) => {
      const user = await c.users.get(ctx.req.valid('param').userID);
      if (!user) throw notFound('user_not_found', 'user not found');
      if (!user.wallets?.length) throw notFound('wallets_not_found', 'the user has no wallets');
      const worlds = await worldsOf(await stakesOfUser(user));
      return ctx.json(
        [...worlds.values()].map((v) => ({
          id: v.world.id,
          owner_id: v.world.ownerId,
          name: v.world.name,
          description: v.description || null,
          website_link: v.websiteLink || null,
          avatarHash: v.avatarHash || null,
        })),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/nft/{nftID}',
      tags: ['chain'],
      summary: 'ERC-721 metadata of an Odyssey NFT (decimal token id = the world id as a 128-bit number)',
      request: {
        params: z.object({
          nftID: z
            .string()
            .regex(/^\d{1,78}$/, 'expected a decimal token id')
            .openapi({ param: { name: 'nftID', in: 'path' } }),
        }),
      },
      responses: {
        200: { description: 'metadata', ...json(z.record(z.string(), z.unknown())) },
        ...errors(400, 404),
      },
    }),
    async (ctx) => {
      const tokenId = BigInt(ctx.req.valid('param').nftID);
      const worldId = odysseyIdOf(tokenId);
      const state = worldId ? c.store.get(worldId) : undefined;
      if (!worldId || !state) throw notFound('nft_not_found', 'nft not found');
      const view = await c.worldDirectory.world(worldId);
      const base = c.config.publicUrl || new URL(ctx.req.url).origin;
      return ctx.json(
        {
          name: view.world.name || `Odyssey#${odysseySequence(tokenId)}`,
          description: view.description,
          image: view.avatarHash,
          external_url: `${base}/odyssey/${worldId}`,
          attributes: [{ trait_type: 'odyssey_id', value: worldId }],
        },
        200,
      );
    },
  );

  return app;
}

/**
 * Chain routes: the harvester's status, and the original's chain-derived routes (a user's wallets and
 * stakes, the worlds a user stakes in, top stakers, NFT metadata), answered from the harvested chain
 * state. With no chain configured they answer empty lists, as the original did without a chain listener.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { forbidden, notFound } from '../../common/errors.ts';
import { odysseyIdOf, odysseySequence } from '../../harvester/odyssey-id.ts';
import type { StakeRow } from '../../harvester/queries.ts';
import { total } from '../../harvester/queries.ts';
import { MAX_STAKE_COMMENT } from '../../node/stakes/stake-controller.ts';
import type { UserRecord } from '../../node/user/user-store.ts';
import type { ApiComponents } from '../env.ts';
import { byUser, rateLimit } from '../middleware/rate-limit.ts';
import { bearer, errors, json, limitQuery, routes, umid, umidParam } from '../validation.ts';

const chainStatusSchema = z.object({
  name: z.string(),
  family: z.string(),
  chain_id: z.string(),
  health: z.enum(['starting', 'ok', 'degraded', 'stopped']),
  head: z.number().nullable(),
  confirmed: z.number().nullable(),
  processed: z.number().nullable(),
  lag: z.number().nullable(),
  range_size: z.number(),
  reorgs: z.number(),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
  processing_error: z.string().nullable(),
  last_block_at: z.string().nullable(),
  /** `rpc`: read by this node; `peers`: applied from what a quorum of trusted peers published. */
  source: z.enum(['rpc', 'peers']),
  /** Peers whose publications of this chain disagreed with this node's own reading. */
  peers: z.array(
    z.object({
      peer_id: z.string(),
      disagreements: z.number(),
      distrusted: z.boolean(),
      last_reason: z.string().nullable(),
      last_block: z.number().nullable(),
      last_at: z.string().nullable(),
    }),
  ),
  /** RPC chains: peer publications compared with this node's reading (and those too old to compare). */
  peer_blocks_checked: z.number(),
  peer_blocks_unverifiable: z.number(),
  /** RPC chains: peer blocks another hash than this node's because of a reorg, not held against the peer. */
  peer_blocks_superseded: z.number(),
  /** Peers chains: the quorum, blocks applied without their predecessor, blocks waiting for a quorum. */
  quorum: z.number().nullable(),
  gaps: z.number().nullable(),
  /** Peers chains: pulls of missed blocks asked of peers (catch-ups and gap fills). */
  pulls: z.number().nullable(),
  waiting: z.array(z.object({ number: z.number(), hash: z.string(), votes: z.number() })),
  /**
   * Peers chains with accounts (Substrate): the account ids the last applied publications covered
   * (null: every account, or nothing applied yet), and the accounts this node watches that they do not
   * cover. No balance is derived here for an uncovered account until a trusted publisher watches it.
   */
  covered_accounts: z.array(z.string()).nullable(),
  uncovered_accounts: z.array(z.string()),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function harvesterRoutes(c: ApiComponents) {
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
      path: '/harvester/status',
      tags: ['chain'],
      summary: 'Per chain adapter: head, processed block, lag, health and the last error',
      security: bearer,
      responses: {
        200: {
          description: 'status',
          ...json(
            z.object({
              enabled: z.boolean(),
              chains: z.array(chainStatusSchema),
            }),
          ),
        },
        ...errors(401),
      },
    }),
    async (ctx) => {
      const s = await c.harvester.status();
      return ctx.json(
        {
          enabled: s.enabled,
          chains: s.chains.map((a) => ({
            name: a.name,
            family: a.family,
            chain_id: a.chainId,
            health: a.health,
            head: a.head,
            confirmed: a.confirmed,
            processed: a.processed,
            lag: a.lag,
            range_size: a.rangeSize,
            reorgs: a.reorgs,
            last_error: a.lastError,
            last_error_at: iso(a.lastErrorAt),
            processing_error: a.processingError,
            last_block_at: iso(a.lastBlockAt),
            source: a.sharing.source,
            peers: a.sharing.peers.map((p) => ({
              peer_id: p.peerId,
              disagreements: p.disagreements,
              distrusted: p.distrusted,
              last_reason: p.lastReason,
              last_block: p.lastBlock,
              last_at: iso(p.lastAt),
            })),
            peer_blocks_checked: a.sharing.checked,
            peer_blocks_unverifiable: a.sharing.unverifiable,
            peer_blocks_superseded: a.sharing.superseded,
            quorum: a.sharing.feed?.quorum ?? null,
            gaps: a.sharing.feed?.gaps ?? null,
            pulls: a.sharing.feed?.pulls ?? null,
            waiting: a.sharing.feed?.waiting ?? [],
            covered_accounts: a.sharing.feed?.accounts ?? null,
            uncovered_accounts: a.sharing.uncovered,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/harvester/chains/{chain}/peers/{peerId}/trust',
      tags: ['chain'],
      summary:
        'Trust again, for one chain, a peer this node distrusted after it published a wrong block (node admins)',
      security: bearer,
      request: {
        params: z.object({
          chain: z
            .string()
            .max(40)
            .openapi({ param: { name: 'chain', in: 'path' } }),
          peerId: z
            .string()
            .max(100)
            .openapi({ param: { name: 'peerId', in: 'path' } }),
        }),
      },
      responses: {
        200: { description: 'trusted again', ...json(z.object({ trusted: z.literal(true) })) },
        ...errors(401, 403, 404),
      },
    }),
    async (ctx) => {
      if (!c.access.isNodeAdmin(ctx.get('user')))
        throw forbidden('not_admin', 'only node admins may do this');
      const { chain, peerId } = ctx.req.valid('param');
      if (!(await c.harvester.trustPeerAgain(chain, peerId))) {
        throw notFound('peer_not_found', 'no such chain, or nothing is held against this peer on it');
      }
      return ctx.json({ trusted: true as const }, 200);
    },
  );

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

/**
 * The harvester's own routes: every chain's status (progress, health, peers' publications, the quorum
 * of a peers chain) and, for node admins, trusting again a peer distrusted for a wrong block. The
 * original's chain-derived routes are in stakes.ts.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { forbidden, notFound } from '../../common/errors.ts';
import type { ApiComponents } from '../env.ts';
import { bearer, errors, json, routes } from '../validation.ts';

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

  return app;
}

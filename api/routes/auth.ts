/**
 * Sign-in: wallet challenges and signatures (Ethereum EIP-191, Polkadot/Kusama sr25519), guest tokens,
 * and attaching another wallet to an account. A challenge comes with a nonce that the signature must
 * be sent with; challenges expire after 5 minutes (--challenge-ttl-ms) and are single-use.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { forbidden, notFound } from '../../common/errors.ts';
import type { ChallengeStore } from '../../node/auth/challenges.ts';
import {
  canonicalWallet,
  type Network,
  networkOf,
  proofWallet,
  verifyWalletSignature,
} from '../../node/auth/wallet-signatures.ts';
import { userDto, userSchema } from '../dto.ts';
import type { ApiComponents } from '../env.ts';
import { requireUser } from '../middleware/auth.ts';
import { byAddress, rateLimit } from '../middleware/rate-limit.ts';
import { bearer, errors, json, routes } from '../validation.ts';

const walletProof = z
  .object({
    wallet: z.string().min(1).max(128),
    signedChallenge: z.string().min(1).max(300),
    network: z.string().max(32).optional(),
    nonce: z
      .string()
      .min(1)
      .max(64)
      .openapi({ description: 'the `nonce` that came with the challenge (GET /auth/challenge)' }),
  })
  .openapi('WalletProof');

const issuedChallenge = z
  .object({
    challenge: z.string().openapi({ description: 'the text to sign; it ends with the nonce' }),
    nonce: z.string().openapi({ description: 'send it back with the signature' }),
  })
  .openapi('Challenge');

export function authRoutes(c: ApiComponents & { challenges: ChallengeStore }) {
  const app = routes();
  const authLimit = rateLimit(c.config.authRequestsPerMinute, c.config.authRequestsPerMinute, byAddress);

  /** Checks a wallet proof against the challenge its nonce names; the challenge is used up only on success. */
  async function prove(body: z.infer<typeof walletProof>): Promise<{ wallet: string; network: Network }> {
    const network = networkOf(body.wallet, body.network);
    const wallet = proofWallet(body.wallet, network);
    const challenge = c.challenges.peek(wallet, body.nonce);
    if ('error' in challenge) {
      throw notFound(
        'challenge_not_found',
        challenge.error === 'expired' ? 'challenge expired' : 'no challenge with this nonce for this wallet',
      );
    }
    const valid = await verifyWalletSignature(network, body.wallet, challenge.text, body.signedChallenge);
    if (!valid)
      throw forbidden('invalid_signature', 'the signature is not by this wallet over its challenge');
    // Verification awaited: a concurrent request with the same signature may have used it up meanwhile.
    if (!c.challenges.consume(wallet, body.nonce))
      throw notFound('challenge_not_found', 'challenge already used');
    return { wallet, network };
  }

  app.use('/auth/*', authLimit);
  app.use('/users/me/attach-account', authLimit);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/auth/challenge',
      tags: ['auth'],
      summary: 'A challenge for a wallet to sign, and its nonce (valid 5 minutes, single-use)',
      description:
        'Several challenges of one wallet may be outstanding; none replaces another. 429 when the wallet ' +
        'already has its fill of them and none was asked for by this client.',
      request: { query: z.object({ wallet: z.string().min(1).max(128) }) },
      responses: {
        200: { description: 'the challenge and its nonce', ...json(issuedChallenge) },
        ...errors(400, 429),
      },
    }),
    (ctx) => {
      const { wallet } = ctx.req.valid('query');
      const canonical = canonicalWallet(wallet, networkOf(wallet));
      const { text, nonce } = c.challenges.issue(canonical, ctx.get('clientAddress'));
      return ctx.json({ challenge: text, nonce }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/auth/token',
      tags: ['auth'],
      summary: 'Exchange a signed challenge for an access token (creates the user on first sign-in)',
      request: { body: { ...json(walletProof), required: true } },
      responses: {
        200: { description: 'the token', ...json(z.object({ token: z.string() })) },
        ...errors(400, 403, 404, 429),
      },
    }),
    async (ctx) => {
      const { wallet } = await prove(ctx.req.valid('json'));
      const { user } = await c.users.walletUser(wallet);
      return ctx.json({ token: await c.tokens.issue(user.id) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/auth/guest-token',
      tags: ['auth'],
      summary: 'A new guest user and its token',
      responses: { 200: { description: 'the guest, with its token', ...json(userSchema) }, ...errors(429) },
    }),
    async (ctx) => {
      const user = await c.users.createGuest();
      return ctx.json(userDto(user, await c.tokens.issue(user.id)), 200);
    },
  );

  app.use('/users/me/attach-account', requireUser(c));
  app.openapi(
    createRoute({
      method: 'post',
      path: '/users/me/attach-account',
      tags: ['auth'],
      summary: 'Attach another wallet to the signed-in account',
      security: bearer,
      request: { body: { ...json(walletProof), required: true } },
      responses: {
        202: { description: 'all wallets of the user', ...json(z.object({ wallet: z.array(z.string()) })) },
        ...errors(400, 401, 403, 404, 429),
      },
    }),
    async (ctx) => {
      const me = ctx.get('user');
      if (me.isGuest)
        throw forbidden('guest_not_permitted', 'guests cannot attach wallets; sign in with a wallet');
      const { wallet } = await prove(ctx.req.valid('json'));
      const user = await c.users.attachWallet(me.id, wallet);
      return ctx.json({ wallet: user.wallets ?? [] }, 202);
    },
  );

  return app;
}

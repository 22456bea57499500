/** Unversioned health and version, and the UI client's configuration. */
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiComponents } from '../env.ts';
import { routes } from '../validation.ts';

export function systemRoutes(c: ApiComponents) {
  const app = routes();
  app.get('/health', (ctx) =>
    ctx.json({
      status: 'ok',
      version: c.version,
      uptime: Math.round((Date.now() - c.startedAt) / 1000),
      ...c.stats(),
    }),
  );
  app.get('/version', (ctx) => {
    const [major, minor, patch] = c.version.split('.').map(Number);
    // `git` only when the commit is known (README: /version).
    return ctx.json({
      api: { major: 4, minor: 0, patch: 0 },
      controller: { major, minor, patch, ...(c.gitCommit ? { git: c.gitCommit } : {}) },
    });
  });
  return app;
}

export function configRoutes(c: ApiComponents) {
  const app = routes();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/config/ui-client',
      tags: ['config'],
      summary: "The UI client's configuration (the original's keys)",
      responses: {
        200: {
          description: 'configuration',
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
      },
    }),
    (ctx) => {
      const base = c.config.publicUrl || new URL(ctx.req.url).origin;
      return ctx.json(
        {
          AGORA_APP_ID: '',
          BLOCKCHAIN_ID: '',
          CONTRACT_DAD_ADDRESS: '',
          CONTRACT_FAUCET_ADDRESS: '',
          CONTRACT_MOM_ADDRESS: '',
          CONTRACT_NFT_ADDRESS: '',
          CONTRACT_STAKING_ADDRESS: '',
          MINT_NFT_AMOUNT: '',
          MINT_NFT_DEPOSIT_ADDRESS: '',
          STREAMCHAT_KEY: '',
          FEATURE_FLAGS: { newsfeed: true, buy_nft: false, canvas: false },
          NODE_ID: c.nodeId,
          NODE_NAME: c.config.name,
          RENDER_SERVICE_URL: `${base}/api/v4/media/render`,
          AI_PROVIDERS: { leonardo: false, blockadelabs: false, chatgpt: false },
        },
        200,
      );
    },
  );
  return app;
}

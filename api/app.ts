/**
 * The HTTP API: a small core (errors, body limit, CORS, auth) with every route group composed around it.
 * Route modules are OpenAPIHono apps, so the OpenAPI document is generated from their definitions.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { DomainError, notFound } from '../common/errors.ts';
import { ChallengeStore } from '../node/auth/challenges.ts';
import { parseTrustProxy } from '../node/http/client-address.ts';
import { docsPage } from './docs-page.ts';
import type { ApiComponents, ApiEnv } from './env.ts';
import { errorBody, errorResponse } from './errors.ts';
import { hasHandler, knownPaths } from './known-paths.ts';
import { requireUser } from './middleware/auth.ts';
import { clientAddressMiddleware } from './middleware/client-address.ts';
import { httpMetrics } from './middleware/metrics.ts';
import { activityRoutes } from './routes/activities.ts';
import { ASSET_PUBLIC, assetRoutes, UPLOAD_PATHS } from './routes/assets.ts';
import { attributeRoutes } from './routes/attributes.ts';
import { authRoutes } from './routes/auth.ts';
import { federationRoutes } from './routes/federation.ts';
import { gatewayRoutes } from './routes/gateway.ts';
import { harvesterRoutes } from './routes/harvester.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { nodeRoutes } from './routes/nodes.ts';
import { objectRoutes } from './routes/objects.ts';
import { OVERVIEW_PUBLIC, overviewRoutes } from './routes/overview.ts';
import { stakeRoutes } from './routes/stakes.ts';
import { configRoutes, systemRoutes } from './routes/system.ts';
import { userRoutes } from './routes/users.ts';
import { worldRoutes } from './routes/worlds.ts';
import { validationHook } from './validation.ts';
import { webPageRoutes } from './web-pages.ts';

export const API_PREFIX = '/api/v4';

/** Routes reachable without a token; everything else under /api/v4 needs one. */
const PUBLIC = [
  /^\/auth\//,
  /^\/config\/ui-client$/,
  /^\/openapi\.json$/,
  /^\/plugin$/,
  ...ASSET_PUBLIC,
  /^\/nft\/\d+$/,
  // The node directory: what nodes announce about themselves is public, and browsers ask before sign-in.
  /^\/nodes(\/nearest)?$/,
  // The dashboard's counts, readable before sign-in.
  OVERVIEW_PUBLIC,
];

export function createApp(c: ApiComponents): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook as never });
  const log = c.logger.child({ component: 'api' });
  if (c.metrics) app.use('*', httpMetrics(c.metrics));
  app.use('*', clientAddressMiddleware(parseTrustProxy(c.config.trustProxy)));

  if (c.config.cors) {
    const origins = c.config.cors.split(',').map((s) => s.trim());
    app.use('*', cors({ origin: origins.includes('*') ? '*' : origins }));
  }
  const jsonBodyLimit = bodyLimit({
    maxSize: c.config.maxBodyBytes,
    onError: (ctx) => {
      // The rest of the body is still on its way and will not be read: the connection cannot carry
      // another request, so say so (HTTP/1.1 keep-alive would leave the client's next request stuck
      // behind an unread body).
      ctx.header('Connection', 'close');
      return errorResponse(
        ctx,
        new DomainError('too_large', 'body_too_large', `request body over ${c.config.maxBodyBytes} bytes`),
      );
    },
  });
  // Uploads stream past this limit into object storage, which applies per-kind limits of its own.
  const uploads = new Set(UPLOAD_PATHS.map((p) => `${API_PREFIX}${p}`));
  app.use(`${API_PREFIX}/*`, (ctx, next) =>
    ctx.req.method === 'POST' && uploads.has(ctx.req.path) ? next() : jsonBodyLimit(ctx, next),
  );

  const api = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook as never });
  const auth = requireUser(c);
  const knownPath = knownPaths(app, API_PREFIX);
  api.use('*', async (ctx, next) => {
    const path = ctx.req.path.slice(API_PREFIX.length);
    if (PUBLIC.some((re) => re.test(path))) return next();
    // A typo is not an auth failure: a path no route has (under any method) is 404 with or without a
    // token. Only ever answers 404 here, never lets a request past the token check.
    if (!hasHandler(ctx) && !knownPath(ctx.req.path))
      throw notFound('not_found', `no route for ${ctx.req.method} ${ctx.req.path}`);
    return auth(ctx, next);
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  const challenges = new ChallengeStore(c.config.challengeTtlMs);
  api.route('/', authRoutes({ ...c, challenges }));
  // Before userRoutes: its /users/{userID} would take /users/top-stakers for a user id.
  api.route('/', harvesterRoutes(c));
  api.route('/', stakeRoutes(c));
  api.route('/', federationRoutes(c));
  api.route('/', nodeRoutes(c));
  api.route('/', overviewRoutes(c));
  api.route('/', userRoutes(c));
  api.route('/', configRoutes(c));
  api.route('/', attributeRoutes(c));
  // Before objectRoutes: its /objects/{objectID} would take /objects/newsfeed for an object id.
  api.route('/', activityRoutes(c));
  api.route('/', worldRoutes(c));
  api.route('/', objectRoutes(c));
  // Object storage: uploads and GC behind the token, downloads and metadata public (ASSET_PUBLIC above).
  api.route('/', assetRoutes(c));
  api.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'odyssey-node API',
      version: c.version,
      description: 'The Odyssey /api/v4 routes served by odyssey-node.',
    },
    servers: [{ url: API_PREFIX }],
  });

  app.route('/', systemRoutes(c));
  if (c.metrics) app.route('/', metricsRoutes(c.metrics, c.config.metricsToken));
  app.route(API_PREFIX, api);
  app.route('/', gatewayRoutes(c));
  app.get('/api/docs', (ctx) => ctx.html(docsPage(`${API_PREFIX}/openapi.json`)));
  // The dashboard at `/`, the viewer at `/viewer`, their files under /ui/.
  app.route('/', webPageRoutes());

  app.notFound((ctx) =>
    errorResponse(ctx, notFound('not_found', `no route for ${ctx.req.method} ${ctx.req.path}`)),
  );
  // The one place refusals become answers: services and routes throw DomainErrors and nothing else maps them.
  app.onError((error, ctx) => {
    if (error instanceof DomainError) return errorResponse(ctx, error);
    if (error instanceof HTTPException)
      return errorBody(ctx, error.status as 400, 'bad_request', error.message);
    log.error({ err: error, method: ctx.req.method, path: ctx.req.path }, 'request failed');
    return errorBody(ctx, 500, 'internal_error', 'internal error');
  });
  return app;
}

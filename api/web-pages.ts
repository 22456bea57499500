/**
 * The dashboard and the live world viewer: static files that `npm run build:web` (vite) writes to
 * web/dist. They are looked up on every request, so a build made while the node runs is served at once,
 * and a node without a build still starts and says at `/` how to make one.
 */
import { readFile } from 'node:fs/promises';
import { extname, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';
import type { ApiEnv } from './env.ts';
import { routes } from './validation.ts';

export const WEB_DIST = fileURLToPath(new URL('../web/dist/', import.meta.url));
/** Vite's `base`: every built file is under it (so no page file can shadow an API route). */
export const WEB_BASE = '/ui/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>odyssey-node</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:3rem auto;max-width:40rem;padding:0 1rem}</style>
</head><body><h1>odyssey-node is running</h1>
<p>The dashboard has not been built. Build it with <code>npm run build:web</code> (it is built on
<code>npm install</code>), then reload this page: no restart is needed.</p>
<p>Meanwhile: <a href="/health">/health</a> · <a href="/api/docs">/api/docs</a></p></body></html>`;

export function webPageRoutes(dist = WEB_DIST) {
  const app = routes();
  const root = resolve(dist);

  /** A file of the build, or undefined (missing, or a path that leaves the build folder). */
  const read = async (relative: string): Promise<Buffer | undefined> => {
    const path = resolve(root, normalize(relative));
    if (path !== root && !path.startsWith(root + sep)) return undefined;
    try {
      return await readFile(path);
    } catch {
      return undefined;
    }
  };

  const page = async (ctx: Context<ApiEnv>, file: string) => {
    const html = await read(file);
    if (!html) return ctx.html(NOT_BUILT, 503);
    ctx.header('Cache-Control', 'no-cache');
    return ctx.body(new Uint8Array(html), 200, { 'Content-Type': TYPES['.html'] });
  };

  app.get('/', (ctx) => page(ctx, 'index.html'));
  // Browsers ask for it on every page (the API docs too); nothing, rather than a 404 in their console.
  app.get('/favicon.ico', (ctx) => ctx.body(null, 204));
  app.get('/viewer', (ctx) => page(ctx, 'viewer.html'));
  app.get(`${WEB_BASE}*`, async (ctx) => {
    let relative: string;
    try {
      relative = decodeURIComponent(ctx.req.path.slice(WEB_BASE.length));
    } catch {
      return ctx.notFound();
    }
    const type = TYPES[extname(relative)];
    if (relative.includes('\0') || !type) return ctx.notFound();
    const body = await read(relative);
    if (!body) return ctx.notFound();
    // Vite names bundles by content hash: they never change under one name.
    ctx.header(
      'Cache-Control',
      relative.startsWith('static/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
    return ctx.body(new Uint8Array(body), 200, { 'Content-Type': type });
  });
  return app;
}

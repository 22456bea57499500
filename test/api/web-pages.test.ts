/** The static pages: served from the build folder only, a clear page when there is no build. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webPageRoutes } from '../../api/web-pages.ts';

let dir: string;
let app: ReturnType<typeof webPageRoutes>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odyssey-web-'));
  await mkdir(join(dir, 'dist/static'), { recursive: true });
  await writeFile(join(dir, 'dist/index.html'), '<!doctype html><title>dash</title>');
  await writeFile(join(dir, 'dist/viewer.html'), '<!doctype html><title>viewer</title>');
  await writeFile(join(dir, 'dist/static/app-1234.js'), 'console.log(1)');
  // Beside the build folder, with a name the prefix check alone would let through.
  await writeFile(join(dir, 'secret.json'), '{"secret":true}');
  await mkdir(join(dir, 'dist-other'));
  await writeFile(join(dir, 'dist-other/x.json'), '{}');
  app = webPageRoutes(join(dir, 'dist'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('web pages', () => {
  it('serves the dashboard at /, the viewer at /viewer and bundles under /ui/', async () => {
    const root = await app.request('/');
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toContain('text/html');
    expect(await root.text()).toContain('<title>dash</title>');
    expect(await (await app.request('/viewer')).text()).toContain('<title>viewer</title>');
    const js = await app.request('/ui/static/app-1234.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await app.request('/favicon.ico')).status).toBe(204);
  });

  it('serves nothing outside the build folder, nor unknown types, nor bad encodings', async () => {
    for (const path of [
      '/ui/../secret.json',
      '/ui/..%2fsecret.json',
      '/ui/%2e%2e/secret.json',
      '/ui/..%2fdist-other/x.json',
      '/ui/static/missing.js',
      '/ui/index.exe',
      '/ui/%E0%A4%A.js',
      '/ui/static/app-1234.js%00.html',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
    }
  });

  it('answers 503 with how to build when there is no build, and serves it once built', async () => {
    const empty = join(dir, 'not-built');
    const pages = webPageRoutes(empty);
    const res = await pages.request('/');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:web');
    await mkdir(empty);
    await writeFile(join(empty, 'index.html'), '<!doctype html><title>late</title>');
    expect(await (await pages.request('/')).text()).toContain('late');
  });
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The dashboard and the viewer, built to web/dist and served by the node under /ui/ (see api/web-pages.ts). */
export default defineConfig({
  root: here('.'),
  base: '/ui/',
  logLevel: 'warn',
  build: {
    outDir: here('dist'),
    assetsDir: 'static',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: { input: { index: here('index.html'), viewer: here('viewer.html') } },
  },
});

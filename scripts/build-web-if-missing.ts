/**
 * `npm start`'s first step: builds the dashboard when web/dist is missing (a clone installed with
 * --ignore-scripts, or a build folder deleted). A failed build does not stop the node from starting:
 * it then says at `/` how to build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}web/dist/index.html`)) {
  console.log('dashboard not built yet: building it (npm run build:web)');
  const vite = `${root}node_modules/.bin/vite`;
  const result = existsSync(vite)
    ? spawnSync(vite, ['build', '--config', 'web/vite.config.ts'], { cwd: root, stdio: 'inherit' })
    : undefined;
  if (result?.status !== 0) console.warn('dashboard build failed; the node starts without it');
}

#!/usr/bin/env -S node --max-semi-space-size=4
// The `odyssey-node` command. Needs Node >= 22.18 (TypeScript type stripping); `npm start` uses the pinned Node 24.
//
// Node's compile cache (os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1
// turns it off) keeps the type-stripped sources and V8's code cache between starts. A node whose every
// module comes from the cache never instantiates Node's WebAssembly type stripper, which otherwise holds
// ~18 MiB of an idle node's RSS for as long as it runs (docs/benchmarks.md, "Memory"). The cache must be
// on before the first .ts module loads, hence this JavaScript entry point and the dynamic import. When
// the cache does not hold this version of the code yet (first start, an upgrade), a short-lived child
// fills it first (composition/warm-compile-cache.ts), so that the long-running node starts lean too.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { constants, enableCompileCache } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The folders of the node's own TypeScript (tests, scripts and the browser pages are never loaded). */
const SOURCE_DIRS = ['api', 'common', 'composition', 'harvester', 'node', 'protocol', 'storage'];

/** Names, sizes and modification times of every source file, and the Node version: cheap, no reads. */
function sourceFingerprint() {
  const hash = createHash('sha256').update(process.version);
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const { size, mtimeMs } = statSync(path);
        hash.update(`${relative(root, path)}:${size}:${mtimeMs}\n`);
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  return hash.digest('hex').slice(0, 16);
}

function warmCompileCache(directory) {
  const marker = join(directory, `odyssey-node-${sourceFingerprint()}`);
  if (existsSync(marker)) return;
  const child = spawnSync(
    process.execPath,
    [
      '--max-semi-space-size=4',
      '--import',
      pathToFileURL(join(root, 'composition/warm-compile-cache.ts')).href,
      // The command's own module too: `help` loads it, prints (to nowhere) and exits.
      join(root, 'composition/cli.ts'),
      'help',
    ],
    {
      // The folder this process was given (with NODE_COMPILE_CACHE, `directory` is its per-version subfolder).
      env: { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE || directory },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 120_000,
    },
  );
  // A failed warm-up costs only memory: the node strips what the cache lacks, and tries again next start.
  if (child.status === 0) writeFileSync(marker, '');
}

const command = process.argv[2];
const help = process.argv.includes('--help') || process.argv.includes('-h');
const starts = !help && (command === undefined || command === 'start' || command.startsWith('-'));
const cache = enableCompileCache?.();
const on = [constants.compileCacheStatus?.ENABLED, constants.compileCacheStatus?.ALREADY_ENABLED];
if (starts && cache?.directory && on.includes(cache.status)) {
  try {
    warmCompileCache(cache.directory);
  } catch {
    // An unreadable cache folder or source tree: start as without the cache.
  }
}
await import('../composition/cli.ts');

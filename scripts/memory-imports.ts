/**
 * What each part of the node costs to load: imports the node's layers one after another (in the order the
 * composition root builds them) and prints, after each, the growth of RSS, V8 heap used and external
 * memory measured after a forced GC. Deltas are attributed to whichever import first loads a shared
 * dependency, and RSS also moves with V8's heap sizing, so read them as a guide, not a ledger
 * (docs/benchmarks.md, "Memory"). Needs --expose-gc:
 *
 *   ./node_modules/.bin/node --expose-gc --max-semi-space-size=4 scripts/memory-imports.ts
 *   ./node_modules/.bin/node --expose-gc scripts/memory-imports.ts viem @polkadot/util-crypto   # any modules
 *
 * Run it twice with NODE_COMPILE_CACHE=<dir> to see a warm start (no TypeScript stripped).
 */
const MiB = 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('memory-imports: run with --expose-gc');
  process.exit(2);
}

const LAYERS = [
  'zod',
  './node/config.ts',
  'pino',
  './storage/db/database.ts',
  './node/federation/p2p-host.ts',
  './storage/assets/asset-store.ts',
  './node/assets/index.ts',
  './node/world/world-controller.ts',
  './harvester/harvester.ts',
  './node/federation/federation.ts',
  './api/app.ts',
  './node/posbus/posbus-server.ts',
  './composition/main.ts',
];

function measure() {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / MiB, heap: m.heapUsed / MiB, external: m.external / MiB };
}

const fmt = (v: number) => (v >= 0 ? `+${v.toFixed(1)}` : v.toFixed(1)).padStart(6);
const modules = process.argv.length > 2 ? process.argv.slice(2) : LAYERS;
let previous = measure();
console.log('| import | RSS Δ MiB | heap used Δ MiB | external Δ MiB | RSS after MiB |');
console.log('| --- | ---: | ---: | ---: | ---: |');
console.log(`| (Node, this script) | | | | ${previous.rss.toFixed(1)} |`);
for (const specifier of modules) {
  const url = specifier.startsWith('./')
    ? new URL(`../${specifier.slice(2)}`, import.meta.url).href
    : specifier;
  await import(url);
  const now = measure();
  console.log(
    `| ${specifier} | ${fmt(now.rss - previous.rss)} | ${fmt(now.heap - previous.heap)} | ${fmt(now.external - previous.external)} | ${now.rss.toFixed(1)} |`,
  );
  previous = now;
}

/**
 * Run by bin/odyssey-node.js in a short-lived child process when Node's compile cache does not yet hold
 * this version of the code (a fresh install, an upgrade): loads every TypeScript module a node may load,
 * lazily loaded ones included, so that they are type-stripped and cached here and the long-running node
 * that starts next finds them all in the cache. The node itself then never instantiates Node's WebAssembly
 * type stripper, which would hold ~18 MiB of its RSS until it exits (docs/benchmarks.md, "Memory").
 * Loading is all it does: nothing is started, and it exits when the modules are in.
 */
import { flushCompileCache } from 'node:module';

const MODULES = [
  './cli-help.ts',
  '../node/config.ts',
  './main.ts',
  './gc.ts',
  '../node/metrics/node-metrics.ts',
  '../harvester/evm/evm-adapter.ts',
  '../harvester/substrate/substrate-adapter.ts',
];

// One at a time, each failure told: a module that fails here fails in the node too, with its own error.
let failed = 0;
for (const module of MODULES) {
  try {
    await import(module);
  } catch (error) {
    failed++;
    console.error(`warm-compile-cache: ${module}: ${(error as Error).message}`);
  }
}
flushCompileCache();
process.exit(failed ? 1 : 0);

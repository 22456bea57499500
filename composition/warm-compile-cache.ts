/**
 * Preloaded by bin/odyssey-node.js in a short-lived child process (`node --import` this file
 * `composition/cli.ts help`: the command's own module is cached too, and `help` prints and exits without
 * running a node) when Node's compile cache does not yet hold this version of the code (a fresh install,
 * an upgrade). It loads every TypeScript module a node without chains may load, lazily loaded ones
 * included, so that they are type-stripped and cached here and the long-running node that starts next
 * finds them all in the cache: it then never instantiates Node's WebAssembly type stripper, which would
 * hold ~18 MiB of its RSS until it exits (docs/benchmarks.md, "Memory"). Loading is all it does: nothing
 * is started. Node writes the cache when the child exits.
 */
// Not the chain adapters (harvester/evm, harvester/substrate): loading viem and @polkadot/api here would
// triple the time this takes, for nodes that carry those libraries' 100+ MiB anyway. A node that follows a
// chain strips its adapter once; the cache keeps it for the next start
// (written when the node has started and again when it exits).
const MODULES = [
  './cli-help.ts',
  '../node/config.ts',
  './main.ts',
  './gc.ts',
  '../node/metrics/node-metrics.ts',
];

// One at a time; a module that fails here fails the warm-up (the node then reports it itself).
for (const module of MODULES) await import(module);

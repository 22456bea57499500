/**
 * Loaded into the node under test by scripts/bench-memory.ts (`node --import ./scripts/memory-probe.mjs
 * bin/odyssey-node.js start ...`): answers SIGUSR2 with one JSON line on stderr holding
 * process.memoryUsage(). JavaScript, not TypeScript: a .ts probe would be type-stripped before the node's
 * compile cache is on and so load the very stripper whose memory the benchmark shows the node avoiding.
 */
process.on('SIGUSR2', () => {
  process.stderr.write(`${JSON.stringify({ probe: 'memory', memory: process.memoryUsage() })}\n`);
});

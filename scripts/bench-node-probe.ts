/**
 * Loaded into the node under test by scripts/bench-load.ts (`node --import ./scripts/bench-node-probe.ts
 * composition/cli.ts start ...`): measures the node's event-loop delay without touching the node's code. On
 * SIGUSR2 it writes the delay since the previous SIGUSR2 to stderr as one JSON line and starts over.
 * `memory` is process.memoryUsage() at that moment (scripts/bench-memory.ts). `monoUs` is CLOCK_MONOTONIC in microseconds, the clock of V8's --cpu-prof timestamps: it lets the
 * profile summary keep only the samples of the measurement window.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
const ms = (ns: number) => Math.round(ns / 1e4) / 100;

process.on('SIGUSR2', () => {
  process.stderr.write(
    `${JSON.stringify({
      probe: 'event-loop-delay',
      monoUs: Number(process.hrtime.bigint() / 1000n),
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
      memory: process.memoryUsage(),
    })}\n`,
  );
  histogram.reset();
});

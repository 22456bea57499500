/**
 * prom-client's default metrics (process_*, nodejs_*) on a node's registry, and a way to stop them. Two of
 * them run by themselves once registered: the event-loop delay histogram (a libuv timer sampling every
 * 10 ms) and the GC observer. prom-client hands out no handle to either, so a node stopped in a process
 * that goes on (tests, benchmarks, several nodes in one process) would leave them sampling into its
 * registry for the life of the process. They are caught here as `collectDefaultMetrics` makes them: it
 * calls `monitorEventLoopDelay` and `PerformanceObserver` through the perf_hooks module object,
 * synchronously, so both are swapped for catching versions for the length of that one call.
 */
import { createRequire } from 'node:module';
import type { ELDHistogram, PerformanceObserver as Observer } from 'node:perf_hooks';
import { collectDefaultMetrics, type Registry } from 'prom-client';

/** The perf_hooks module object as prom-client requires it (an ES namespace could not be written to). */
const perfHooks = createRequire(import.meta.url)('node:perf_hooks') as typeof import('node:perf_hooks');

export interface ProcessMetrics {
  /** Disables the event-loop delay histogram and disconnects the GC observer; the other metrics are read when scraped. */
  stop(): void;
}

export function collectProcessMetrics(registry: Registry): ProcessMetrics {
  const histograms: ELDHistogram[] = [];
  const observers: Observer[] = [];
  const { monitorEventLoopDelay, PerformanceObserver } = perfHooks;
  perfHooks.monitorEventLoopDelay = (options) => {
    const histogram = monitorEventLoopDelay(options);
    histograms.push(histogram);
    return histogram;
  };
  perfHooks.PerformanceObserver = class extends PerformanceObserver {
    constructor(callback: ConstructorParameters<typeof PerformanceObserver>[0]) {
      super(callback);
      observers.push(this);
    }
  };
  try {
    collectDefaultMetrics({ register: registry });
  } finally {
    perfHooks.monitorEventLoopDelay = monitorEventLoopDelay;
    perfHooks.PerformanceObserver = PerformanceObserver;
  }
  return {
    stop() {
      for (const histogram of histograms) {
        histogram.disable();
        histogram.reset();
      }
      for (const observer of observers) observer.disconnect();
    },
  };
}

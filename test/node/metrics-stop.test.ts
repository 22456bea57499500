/**
 * A node started and stopped in-process with --metrics on leaves nothing of prom-client's process
 * metrics running: the event-loop delay histogram samples no more and the GC observer records no more.
 * Both are checked by what they would write into the stopped node's registry, against the same check
 * while the node runs (so the check can fail).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startNode } from '../support/node.ts';

// A gc() to call, without starting the test process with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Holds the event loop for `ms`: the event-loop histogram, if it samples, records a delay. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
}

async function value(registry: Registry, name: string, series = name): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const values = (await metric.get()).values.filter(
    (v) => ((v as { metricName?: string }).metricName ?? name) === series,
  );
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** The largest event-loop delay sampled since the last read (prom-client resets it at every read). */
async function lagMax(registry: Registry): Promise<number> {
  await value(registry, 'nodejs_eventloop_lag_seconds'); // its collect reads and resets the histogram
  return value(registry, 'nodejs_eventloop_lag_max_seconds');
}

/** The largest delay sampled over a held loop and a pause after it. */
async function sampledLag(registry: Registry): Promise<number> {
  await lagMax(registry);
  block(60);
  await pause(50);
  return lagMax(registry);
}

/** The first positive answer of up to `rounds` tries, or the last answer. */
async function within(rounds: number, measure: () => Promise<number>): Promise<number> {
  let last = 0;
  for (let round = 0; round < rounds && last <= 0; round++) last = await measure();
  return last;
}

const gcCount = (registry: Registry) =>
  value(registry, 'nodejs_gc_duration_seconds', 'nodejs_gc_duration_seconds_count');

/** Collections observed after a few forced ones (observer callbacks come after the collection). */
async function gcsSeen(registry: Registry): Promise<number> {
  const before = await gcCount(registry);
  for (let i = 0; i < 3; i++) gc();
  await pause(100);
  return (await gcCount(registry)) - before;
}

describe('metrics of a stopped node', () => {
  it('leave no event-loop sampling or GC observer running', async () => {
    const t = await startNode({ metrics: 'on' });
    let stopped = false;
    try {
      const registry = t.node.metrics?.registry;
      if (!registry) throw new Error('metrics are on');
      // Running: the held loop is sampled (some delay is recorded), forced collections are counted
      // (tried a few times: on a loaded machine one round may see neither yet).
      expect(await within(10, () => sampledLag(registry))).toBeGreaterThan(0);
      expect(await within(10, () => gcsSeen(registry))).toBeGreaterThan(0);

      await t.node.stop();
      stopped = true;
      for (let round = 0; round < 3; round++) {
        expect(await sampledLag(registry)).toBe(0);
        expect(await gcsSeen(registry)).toBe(0);
      }
    } finally {
      if (!stopped) await t.node.stop();
      await t.cleanup();
    }
  });
});

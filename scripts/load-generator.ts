/**
 * PosBus load generator: N raw WebSocket clients in one world, each sending MyTransform at a fixed rate,
 * measuring what comes back. Run by scripts/bench-load.ts (which starts the node in its own process); can
 * also be pointed at any running node:
 *
 *   node scripts/load-generator.ts --url http://127.0.0.1:4000 --clients 100
 *
 * Every client: a guest token from POST /api/v4/auth/guest-token, HandShake + TeleportRequest, then
 * MyTransform every 1000/rate ms, the clients' send slots spread evenly over one period. A client sends
 * from its home position (uniform over ±spread in x/z) plus a small random walk; position.y carries its
 * sequence number modulo 1000 (an exact float32 integer) and rotation.x its send time (wall clock).
 *
 * The clients live in --workers child processes (scripts/load-worker.ts, client i in worker i mod W):
 * this process only starts them, steps them through the phases together (tokens; entering, timed from
 * the first socket to the last SetWorld; sending; the window) and merges their counters into one result.
 *
 * Receiving: every client counts UsersTransformList frames, their payload bytes and their entries (the
 * list length is the varint right after the type id: no decode). K observer clients decode every frame
 * with the protocol codec and, for each entry from another user, take the move's send time from the
 * entry itself: move-to-arrival latency, on the machine's wall clock (one machine, every worker). An
 * entry whose (sender, sequence) an observer has already seen (a refresh of a user who did not move)
 * counts as a duplicate, not as a latency sample.
 *
 * Protocol with the parent, on stdout, one JSON object per line: {"event":"ready"} once every client
 * is in the world, {"event":"measure-start"} and {"event":"measure-end"} around the measurement window,
 * then {"event":"result",...}. Progress and problems go to stderr. The process exits by itself: every
 * phase has a deadline.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  LATENCY_BUCKET_MS,
  type LoadWorkerCommand,
  type LoadWorkerOptions,
  type LoadWorkerReport,
  type WorkerCounters,
  type WorkerResult,
} from './load-worker.ts';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:4000' },
    world: { type: 'string', default: '5e1f0d2c-7a41-4c39-9b1e-0d0000000001' },
    clients: { type: 'string', default: '100' },
    observers: { type: 'string', default: '20' },
    'rate-hz': { type: 'string', default: '10' },
    /** Homes are uniform over [-spread, spread] in x and z. */
    spread: { type: 'string', default: '1000' },
    /** Half extent of a client's random walk around its home. */
    wander: { type: 'string', default: '20' },
    /**
     * Homes keep `wander` away from the lines of a grid of this size, so a client never leaves its
     * interest cell and every observer sees a fixed set of neighbours (0: homes anywhere).
     */
    cell: { type: 'string', default: '200' },
    'warmup-ms': { type: 'string', default: '3000' },
    'measure-ms': { type: 'string', default: '10000' },
    'setup-timeout-ms': { type: 'string', default: '90000' },
    /** Guest tokens and WebSocket openings in flight at once, over all workers. */
    concurrency: { type: 'string', default: '64' },
    /**
     * Worker processes sharing the clients (scripts/load-worker.ts); 0: one per 1,500 clients, at most
     * the machine's cores. One process alone cannot keep 5,000 sockets on schedule.
     */
    workers: { type: 'string', default: '0' },
    /**
     * The clients' WebSocket implementation: `lean` (scripts/bench-ws-client.ts, the default: it costs the
     * generator a fraction of `ws`'s CPU per received frame) or `ws` (the library, to compare).
     */
    client: { type: 'string', default: 'lean' },
  },
  strict: true,
});

const num = (name: keyof typeof opts) => {
  const v = Number(opts[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number: ${opts[name]}`);
  return v;
};
const BASE_URL = String(opts.url).replace(/\/$/, '');
const WORLD_ID = String(opts.world);
const N = num('clients');
const K = Math.min(N, num('observers'));
const PERIOD_MS = 1000 / num('rate-hz');
const SPREAD = num('spread');
const WANDER = num('wander');
const CELL = num('cell');
const WARMUP_MS = num('warmup-ms');
const MEASURE_MS = num('measure-ms');
const SETUP_TIMEOUT_MS = num('setup-timeout-ms');
const CONCURRENCY = num('concurrency');
const CLIENT = String(opts.client);
if (CLIENT !== 'lean' && CLIENT !== 'ws') throw new Error(`--client: lean or ws, not ${CLIENT}`);
const WORKERS = Math.max(
  1,
  Math.min(N, num('workers') || Math.min(availableParallelism(), Math.ceil(N / 1500))),
);

const emit = (event: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
const say = (message: string) => process.stderr.write(`[loadgen] ${message}\n`);

// A hard stop whatever happens: setup, warm-up, measurement and the close, plus slack.
const hardStop = setTimeout(
  () => {
    say('hard deadline reached: exiting');
    for (const w of workers) w.kill('SIGKILL');
    process.exit(3);
  },
  2 * SETUP_TIMEOUT_MS + WARMUP_MS + MEASURE_MS + 15_000,
);
hardStop.unref();

// ---- workers ----------------------------------------------------------------------------------------

const WORKER_FILE = fileURLToPath(new URL('./load-worker.ts', import.meta.url));
const workers: ChildProcess[] = [];
/** Reports of each kind, per worker, as they arrive. */
const reports = new Map<string, Map<number, LoadWorkerReport>>();
const waiters = new Set<() => void>();
let joinedByWorker: number[] = [];
let workerFailure: string | undefined;

for (let w = 0; w < WORKERS; w++) {
  const options: LoadWorkerOptions = {
    url: BASE_URL,
    world: WORLD_ID,
    clients: N,
    workers: WORKERS,
    worker: w,
    observers: K,
    periodMs: PERIOD_MS,
    spread: SPREAD,
    wander: WANDER,
    cell: CELL,
    concurrency: Math.max(1, Math.ceil(CONCURRENCY / WORKERS)),
    setupTimeoutMs: SETUP_TIMEOUT_MS,
    client: CLIENT,
  };
  // Same runtime and V8 flags as this process; stdout stays ours (the JSON lines), stderr is shared.
  const child = fork(WORKER_FILE, [JSON.stringify(options)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  child.on('message', (report: LoadWorkerReport) => {
    if (report.type === 'progress') joinedByWorker[w] = report.joined;
    if (report.type === 'error') workerFailure = `worker ${w}: ${report.message}`;
    const byWorker = reports.get(report.type) ?? new Map<number, LoadWorkerReport>();
    reports.set(report.type, byWorker);
    byWorker.set(w, report);
    for (const wake of waiters) wake();
  });
  child.on('error', (error) => {
    workerFailure = `worker ${w}: ${error.message}`;
    for (const wake of waiters) wake();
  });
  child.on('exit', (code, signal) => {
    if (!stopping) workerFailure ??= `worker ${w} exited (${signal ?? code}) before the end`;
    for (const wake of waiters) wake();
  });
  workers.push(child);
}
joinedByWorker = workers.map(() => 0);
let stopping = false;

const tell = (command: LoadWorkerCommand) => {
  for (const w of workers) if (w.connected) w.send(command);
};

/** Every worker's report of `type`, once all are in (or the deadline passes: an error). */
async function fromAll<T extends LoadWorkerReport['type']>(
  type: T,
  deadline: number,
): Promise<Extract<LoadWorkerReport, { type: T }>[]> {
  for (;;) {
    if (workerFailure) throw new Error(workerFailure);
    const got = reports.get(type);
    if (got && got.size === WORKERS) return [...got.values()] as Extract<LoadWorkerReport, { type: T }>[];
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`timed out waiting for the workers' ${type}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(left, 1000));
      function done() {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }
}

// ---- run ------------------------------------------------------------------------------------------

/** The value at quantile p of a histogram (bucket → count), as its bucket's middle. */
function percentile(buckets: Map<number, number>, total: number, p: number): number {
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
    seen += buckets.get(b) as number;
    if (seen >= rank) return (b + 0.5) * LATENCY_BUCKET_MS;
  }
  return Number.NaN;
}

async function main(): Promise<void> {
  const setupStart = performance.now();
  const deadline = setupStart + SETUP_TIMEOUT_MS;
  const tokens = await fromAll('tokens', deadline);
  const tokenFailures = tokens.reduce((sum, t) => sum + t.failed, 0);
  const tokensMs = performance.now() - setupStart;
  say(`${N - tokenFailures} guest tokens in ${tokensMs.toFixed(0)} ms (${WORKERS} workers)`);
  emit('tokens', { tokensMs });

  const enterStart = performance.now();
  const progress = setInterval(() => {
    const joined = joinedByWorker.reduce((a, b) => a + b, 0);
    say(`${joined} of ${N} in the world after ${((performance.now() - enterStart) / 1000).toFixed(0)} s`);
  }, 5000);
  tell({ cmd: 'enter' });
  const entered = await fromAll('entered', enterStart + SETUP_TIMEOUT_MS).finally(() =>
    clearInterval(progress),
  );
  const setupMs = performance.now() - setupStart;
  /** From the first WebSocket opened to the last client's SetWorld: entering, tokens not included. */
  const enterMs = performance.now() - enterStart;
  const inWorld = entered.reduce((sum, e) => sum + e.inWorld, 0);
  const failedConnect = entered.reduce((sum, e) => sum + e.failedConnect, 0);
  const notInWorld = entered.reduce((sum, e) => sum + e.notInWorld, 0);
  if (notInWorld > 0)
    throw new Error(`timed out waiting for every client in the world (${notInWorld} not in)`);
  say(
    `${inWorld} of ${N} clients in the world after ${setupMs.toFixed(0)} ms (entering: ${enterMs.toFixed(0)} ms)`,
  );
  emit('ready', { inWorld, setupMs, workerPids: workers.map((w) => w.pid) });

  // Every worker starts its schedule from the same wall-clock instant, a little ahead.
  tell({ cmd: 'send', t0: performance.timeOrigin + performance.now() + 50 });
  await new Promise((r) => setTimeout(r, WARMUP_MS));

  const t0 = performance.now();
  tell({ cmd: 'measure-start' });
  emit('measure-start');
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  tell({ cmd: 'measure-end' });
  const seconds = (performance.now() - t0) / 1000;
  emit('measure-end');
  const results = (await fromAll('result', performance.now() + 30_000)).map((r) => r.result);
  emit(
    'result',
    merge(results, { seconds, inWorld, setupMs, enterMs, tokensMs, tokenFailures, failedConnect }),
  );
}

function merge(
  results: WorkerResult[],
  run: {
    seconds: number;
    inWorld: number;
    setupMs: number;
    enterMs: number;
    tokensMs: number;
    tokenFailures: number;
    failedConnect: number;
  },
) {
  const { seconds, inWorld } = run;
  const c = {} as WorkerCounters;
  for (const key of Object.keys(results[0].counters) as (keyof WorkerCounters)[])
    c[key] = results.reduce((sum, r) => sum + r.counters[key], 0);
  const buckets = new Map<number, number>();
  for (const r of results) for (const [b, n] of r.latency) buckets.set(b, (buckets.get(b) ?? 0) + n);
  const samples = results.reduce((sum, r) => sum + r.latencyCount, 0);
  const latencySum = results.reduce((sum, r) => sum + r.latencySumMs, 0);
  const closeCodes: Record<string, number> = {};
  for (const r of results)
    for (const [code, n] of Object.entries(r.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + n;
  const perSecond = (v: number) => Math.round(v / seconds);
  const observerCount = results.reduce((sum, r) => sum + r.observers, 0);
  const obsOthers = c.obsEntries - c.obsSelf;
  // Own echoes of all clients, estimated from the observers' (every client gets its own entry per tick it moved).
  const selfEstimate = observerCount ? (c.obsSelf / observerCount) * inWorld : 0;
  const closedBeforeMeasure = results.reduce((sum, r) => sum + r.closedBeforeMeasure, 0);
  return {
    clients: N,
    workers: WORKERS,
    inWorld,
    observers: observerCount,
    setupMs: Math.round(run.setupMs),
    enterMs: Math.round(run.enterMs),
    tokensMs: Math.round(run.tokensMs),
    seconds: Number(seconds.toFixed(3)),
    movesSentPerSec: perSecond(c.movesSent),
    slotsSkipped: c.slotsSkipped,
    framesPerSec: perSecond(c.framesReceived),
    /** Payload bytes of UsersTransformList frames to all clients (WebSocket headers not included). */
    bytesPerSec: perSecond(c.bytesReceived),
    /** Exact: entries of every UsersTransformList any client received, own echo included. */
    entriesPerSec: perSecond(c.entriesReceived),
    /** entriesPerSec minus the own echoes (estimated from the observers). */
    deliveredToOthersPerSec: perSecond(c.entriesReceived - selfEstimate),
    /** Observer-measured: other users' entries per observer per second. */
    observerOthersPerSec: observerCount ? perSecond(obsOthers / observerCount) : 0,
    /** Observer-measured, scaled: other users' entries per second per observer × clients in the world. */
    deliveredScaledPerSec: observerCount ? perSecond((obsOthers / observerCount) * inWorld) : 0,
    otherFramesPerSec: perSecond(c.otherFrames),
    otherBytesPerSec: perSecond(c.otherBytes),
    observer: {
      frames: c.obsFrames,
      entries: c.obsEntries,
      self: c.obsSelf,
      duplicates: c.obsDuplicates,
      unmatched: c.obsUnmatched,
      samples,
      skipped: c.obsSkipped,
    },
    /** Of the neighbours' moves an observer could have got, the share it never got (superseded or dropped). */
    skippedPct: round((c.obsSkipped / (c.obsSkipped + samples || 1)) * 100),
    latencyMs: {
      p50: round(percentile(buckets, samples, 0.5)),
      p90: round(percentile(buckets, samples, 0.9)),
      p99: round(percentile(buckets, samples, 0.99)),
      max: round(samples ? Math.max(...results.map((r) => r.latencyMaxMs)) : Number.NaN),
      mean: round(samples ? latencySum / samples : Number.NaN),
    },
    errors: {
      failedTokens: run.tokenFailures,
      failedConnect: run.failedConnect,
      notInWorld: N - run.tokenFailures - run.failedConnect - inWorld,
      closedBeforeMeasure,
      closedDuringMeasure: results.reduce((sum, r) => sum + r.closedDuringMeasure, 0),
      closeCodes,
    },
    loadgen: {
      /** All workers together (this process only coordinates). */
      cpuPct: round((results.reduce((sum, r) => sum + r.cpuMs, 0) / 1000 / seconds) * 100),
      eventLoopDelayP99Ms: round(Math.max(...results.map((r) => r.eventLoopDelayP99Ms))),
      eventLoopDelayMaxMs: round(Math.max(...results.map((r) => r.eventLoopDelayMaxMs))),
      rssMB: round(results.reduce((sum, r) => sum + r.rssMB, 0)),
    },
  };
}

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

function finish(code: number): void {
  stopping = true;
  tell({ cmd: 'stop' });
  // Workers close their sockets and exit; whatever is left after a moment is killed.
  setTimeout(() => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    process.exit(code);
  }, 500).unref();
}

main().then(
  () => finish(0),
  (error) => {
    const message = error instanceof Error ? error.message : String(error);
    say(`failed: ${message}`);
    emit('error', { message });
    finish(1);
  },
);

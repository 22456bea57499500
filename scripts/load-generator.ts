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
 * sequence number modulo 1000 (an exact float32 integer), and the send time of each sequence number is
 * kept in a per-client ring buffer.
 *
 * Receiving: every client counts UsersTransformList frames, their payload bytes and their entries (the
 * list length is the varint right after the type id: no decode). K observer clients decode every frame
 * with the protocol codec and, for each entry from another user, look up that user's send time of that
 * sequence number: move-to-arrival latency, on one clock (performance.now(), same process). An entry
 * whose (sender, sequence) an observer has already seen (a refresh of a user who did not move) counts as
 * a duplicate, not as a latency sample.
 *
 * Protocol with the parent, on stdout, one JSON object per line: {"event":"ready"} once every client
 * is in the world, {"event":"measure-start"} and {"event":"measure-end"} around the measurement window,
 * then {"event":"result",...}. Progress and problems go to stderr. The process exits by itself: every
 * phase has a deadline.
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decode, encode, TYPE_IDS } from '../protocol/posbus/index.ts';

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
    concurrency: { type: 'string', default: '32' },
  },
  strict: true,
});

const num = (name: keyof typeof opts) => {
  const v = Number(opts[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number: ${opts[name]}`);
  return v;
};
const BASE_URL = String(opts.url).replace(/\/$/, '');
const WS_URL = `${BASE_URL.replace(/^http/, 'ws')}/posbus`;
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
const RING = 1000;

const TYPE_USERS_TRANSFORM_LIST = TYPE_IDS.UsersTransformList;
const TYPE_SET_WORLD = TYPE_IDS.SetWorld;

const emit = (event: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
const say = (message: string) => process.stderr.write(`[loadgen] ${message}\n`);

// A hard stop whatever happens: setup, warm-up, measurement and the close, plus slack.
const hardStop = setTimeout(
  () => {
    say('hard deadline reached: exiting');
    process.exit(3);
  },
  SETUP_TIMEOUT_MS + WARMUP_MS + MEASURE_MS + 15_000,
);
hardStop.unref();

// ---- clients --------------------------------------------------------------------------------------

interface Client {
  readonly index: number;
  id: string;
  token: string;
  ws: WebSocket | undefined;
  readonly homeX: number;
  readonly homeZ: number;
  x: number;
  z: number;
  seq: number;
  /** performance.now() of the send of sequence number s, at s % RING. */
  readonly sentAt: Float64Array;
  joined: boolean;
  /** Closed by the node (or failed) before the generator closed it. */
  lost: boolean;
  /** Observers only: the last sequence number seen from each other client (-1: none yet). */
  lastSeen: Int32Array | undefined;
}

const clients: Client[] = [];
/** Uniform over ±SPREAD, but (with CELL) at least WANDER inside a grid cell. */
function home(): number {
  const v = (Math.random() * 2 - 1) * SPREAD;
  if (!(CELL > 2 * WANDER)) return v;
  const cellStart = Math.floor(v / CELL) * CELL;
  return cellStart + WANDER + Math.random() * (CELL - 2 * WANDER);
}
for (let i = 0; i < N; i++) {
  const homeX = home();
  const homeZ = home();
  clients.push({
    index: i,
    id: '',
    token: '',
    ws: undefined,
    homeX,
    homeZ,
    x: homeX,
    z: homeZ,
    seq: 0,
    sentAt: new Float64Array(RING),
    joined: false,
    lost: false,
    lastSeen: undefined,
  });
}
// Observers are spread over the index range (homes are random, so this is a random sample of places).
const observerSet = new Set<number>();
for (let k = 0; k < K; k++) observerSet.add(Math.floor((k * N) / K));
for (const i of observerSet) clients[i].lastSeen = new Int32Array(N).fill(-1);
const indexById = new Map<string, number>();

// ---- counters -------------------------------------------------------------------------------------

let measuring = false;
let stopping = false;
const counters = {
  movesSent: 0,
  /** Send slots skipped because the generator fell more than a whole period behind. */
  slotsSkipped: 0,
  framesReceived: 0,
  bytesReceived: 0,
  /** Entries of every UsersTransformList received by any client (own echo included). */
  entriesReceived: 0,
  otherFrames: 0,
  otherBytes: 0,
  // observers
  obsFrames: 0,
  obsEntries: 0,
  obsSelf: 0,
  obsDuplicates: 0,
  /** Entries whose y was not one of the sender's sequence numbers (e.g. the spawn point). */
  obsUnmatched: 0,
  /** Moves of a neighbour an observer never got: superseded by a later move before a tick sent them, or dropped. */
  obsSkipped: 0,
};
let latencies = new Float64Array(1 << 16);
let latencyCount = 0;
const closeCodes = new Map<string, number>();
let failedConnect = 0;
let lostDuringRun = 0;

function recordLatency(ms: number): void {
  if (latencyCount === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[latencyCount++] = ms;
}

function onFrame(client: Client, data: Buffer): void {
  const now = performance.now();
  if (data.length < 8) return;
  const typeId = data.readUInt32LE(0);
  if (typeId !== TYPE_USERS_TRANSFORM_LIST) {
    if (typeId === TYPE_SET_WORLD) client.joined = true;
    if (measuring) {
      counters.otherFrames++;
      counters.otherBytes += data.length;
    }
    return;
  }
  if (!measuring) return;
  counters.framesReceived++;
  counters.bytesReceived += data.length;
  counters.entriesReceived += listLength(data);
  if (client.lastSeen) observe(client, data, now);
}

/** The element count of a list body at offset 4: a zigzag varint (MUS `int`). */
function listLength(data: Buffer): number {
  let v = 0;
  let shift = 0;
  for (let pos = 4; pos < data.length && shift < 35; pos++, shift += 7) {
    const b = data[pos];
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  return Math.floor(v / 2);
}

function observe(observer: Client, data: Buffer, now: number): void {
  const message = decode(data);
  if (message.type !== 'UsersTransformList') return;
  counters.obsFrames++;
  const lastSeen = observer.lastSeen as Int32Array;
  for (const entry of message.value) {
    counters.obsEntries++;
    const sender = indexById.get(entry.id);
    if (sender === undefined) continue;
    if (sender === observer.index) {
      counters.obsSelf++;
      continue;
    }
    const slot = entry.transform.position.y;
    const from = clients[sender];
    if (!Number.isInteger(slot) || slot < 0 || slot >= RING || from.sentAt[slot] === 0) {
      counters.obsUnmatched++;
      continue;
    }
    const last = lastSeen[sender];
    if (last === slot) {
      counters.obsDuplicates++;
      continue;
    }
    if (last >= 0) counters.obsSkipped += (slot - last - 1 + RING) % RING;
    lastSeen[sender] = slot;
    recordLatency(now - from.sentAt[slot]);
  }
}

// ---- setup ----------------------------------------------------------------------------------------

async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}

async function guestToken(client: Client): Promise<void> {
  const res = await fetch(`${BASE_URL}/api/v4/auth/guest-token`, {
    method: 'POST',
    body: '{}',
    signal: AbortSignal.timeout(20_000),
  });
  if (!res.ok) throw new Error(`guest-token: HTTP ${res.status}`);
  const body = (await res.json()) as { id: string; token: string };
  client.id = body.id;
  client.token = body.token;
  indexById.set(body.id, client.index);
}

function open(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(WS_URL, { perMessageDeflate: false, handshakeTimeout: 20_000 });
    client.ws = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      ws.send(
        encode({
          type: 'HandShake',
          handshakeVersion: 1,
          protocolVersion: 1,
          token: client.token,
          userId: client.id,
          sessionId: randomUUID(),
        }),
      );
      ws.send(encode({ type: 'TeleportRequest', target: WORLD_ID }));
      // Straight to its home (applied right after the entry): without it every client stays at the spawn
      // point until sending starts, one crowd in one interest cell where everyone sees everyone.
      sendMove(client, performance.now());
      resolve();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) onFrame(client, data as Buffer);
    });
    ws.on('error', (error) => {
      if (!opened) {
        failedConnect++;
        client.lost = true;
        say(`client ${client.index}: connect failed: ${error.message}`);
        resolve();
      }
    });
    ws.on('close', (code) => {
      if (stopping || !opened) return;
      client.lost = true;
      lostDuringRun++;
      closeCodes.set(String(code), (closeCodes.get(String(code)) ?? 0) + 1);
    });
  });
}

async function waitFor(predicate: () => boolean, deadline: number, what: string): Promise<void> {
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- sending --------------------------------------------------------------------------------------

function sendMove(client: Client, now: number): void {
  const ws = client.ws;
  if (!ws || client.lost || ws.readyState !== WebSocket.OPEN) return;
  client.x = clamp(client.x + (Math.random() - 0.5) * 2, client.homeX - WANDER, client.homeX + WANDER);
  client.z = clamp(client.z + (Math.random() - 0.5) * 2, client.homeZ - WANDER, client.homeZ + WANDER);
  const slot = client.seq % RING;
  client.seq++;
  client.sentAt[slot] = now;
  ws.send(
    encode({
      type: 'MyTransform',
      position: { x: client.x, y: slot, z: client.z },
      rotation: { x: 0, y: (client.seq % 360) - 180, z: 0 },
    }),
  );
  if (measuring) counters.movesSent++;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * Client i's k-th send is due at t0 + k*PERIOD + i*PERIOD/N. One timer walks the slots in due order, so
 * the N clients cost one timer, not N. A slot more than a whole period late is skipped (and counted):
 * no client ever sends faster than the rate to catch up.
 */
function startSending(): () => void {
  const t0 = performance.now();
  const slotMs = PERIOD_MS / N;
  let done = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const due = Math.floor((now - t0) / slotMs) + 1;
    if (due - done > N) {
      if (measuring) counters.slotsSkipped += due - N - done;
      done = due - N;
    }
    for (; done < due; done++) sendMove(clients[done % N], now);
  }, 2);
  return () => clearInterval(timer);
}

// ---- run ------------------------------------------------------------------------------------------

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

async function main(): Promise<void> {
  const setupStart = performance.now();
  const deadline = setupStart + SETUP_TIMEOUT_MS;
  let tokenFailures = 0;
  await pool(clients, CONCURRENCY, async (c) => {
    try {
      await guestToken(c);
    } catch (e) {
      tokenFailures++;
      c.lost = true;
      say(`client ${c.index}: ${(e as Error).message}`);
    }
  });
  const tokensMs = performance.now() - setupStart;
  say(`${N - tokenFailures} guest tokens in ${tokensMs.toFixed(0)} ms`);
  const enterStart = performance.now();
  const progress = setInterval(() => {
    const joined = clients.filter((c) => c.joined).length;
    say(`${joined} of ${N} in the world after ${((performance.now() - enterStart) / 1000).toFixed(0)} s`);
  }, 5000);
  await pool(
    clients.filter((c) => !c.lost),
    CONCURRENCY,
    (c) => open(c),
  );
  await waitFor(
    () => clients.every((c) => c.joined || c.lost),
    deadline,
    'every client in the world',
  ).finally(() => clearInterval(progress));
  const setupMs = performance.now() - setupStart;
  /** From the first WebSocket opened to the last client's SetWorld: entering, tokens not included. */
  const enterMs = performance.now() - enterStart;
  const inWorld = clients.filter((c) => c.joined && !c.lost).length;
  say(
    `${inWorld} of ${N} clients in the world after ${setupMs.toFixed(0)} ms (entering: ${enterMs.toFixed(0)} ms)`,
  );
  emit('ready', { inWorld, setupMs });

  const stopSending = startSending();
  await new Promise((r) => setTimeout(r, WARMUP_MS));

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  for (const key of Object.keys(counters) as (keyof typeof counters)[]) counters[key] = 0;
  latencyCount = 0;
  const lostBefore = lostDuringRun;
  const t0 = performance.now();
  measuring = true;
  emit('measure-start');
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  emit('measure-end');
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  stopSending();

  const sorted = latencies.slice(0, latencyCount).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const perSecond = (v: number) => Math.round(v / seconds);
  const observerCount = [...observerSet].filter((i) => !clients[i].lost).length;
  const obsOthers = counters.obsEntries - counters.obsSelf;
  // Own echoes of all clients, estimated from the observers' (every client gets its own entry per tick it moved).
  const selfEstimate = observerCount ? (counters.obsSelf / observerCount) * inWorld : 0;
  const result = {
    clients: N,
    inWorld,
    observers: observerCount,
    setupMs: Math.round(setupMs),
    enterMs: Math.round(enterMs),
    tokensMs: Math.round(tokensMs),
    seconds: Number(seconds.toFixed(3)),
    movesSentPerSec: perSecond(counters.movesSent),
    slotsSkipped: counters.slotsSkipped,
    framesPerSec: perSecond(counters.framesReceived),
    /** Payload bytes of UsersTransformList frames to all clients (WebSocket headers not included). */
    bytesPerSec: perSecond(counters.bytesReceived),
    /** Exact: entries of every UsersTransformList any client received, own echo included. */
    entriesPerSec: perSecond(counters.entriesReceived),
    /** entriesPerSec minus the own echoes (estimated from the observers). */
    deliveredToOthersPerSec: perSecond(counters.entriesReceived - selfEstimate),
    /** Observer-measured: other users' entries per observer per second. */
    observerOthersPerSec: observerCount ? perSecond(obsOthers / observerCount) : 0,
    /** Observer-measured, scaled: other users' entries per second per observer × clients in the world. */
    deliveredScaledPerSec: observerCount ? perSecond((obsOthers / observerCount) * inWorld) : 0,
    otherFramesPerSec: perSecond(counters.otherFrames),
    otherBytesPerSec: perSecond(counters.otherBytes),
    observer: {
      frames: counters.obsFrames,
      entries: counters.obsEntries,
      self: counters.obsSelf,
      duplicates: counters.obsDuplicates,
      unmatched: counters.obsUnmatched,
      samples: latencyCount,
      skipped: counters.obsSkipped,
    },
    /** Of the neighbours' moves an observer could have got, the share it never got (superseded or dropped). */
    skippedPct: round((counters.obsSkipped / (counters.obsSkipped + latencyCount || 1)) * 100),
    latencyMs: {
      p50: round(percentile(sorted, 0.5)),
      p90: round(percentile(sorted, 0.9)),
      p99: round(percentile(sorted, 0.99)),
      max: round(sorted.length ? sorted[sorted.length - 1] : Number.NaN),
      mean: round(latencyCount ? sum / latencyCount : Number.NaN),
    },
    errors: {
      failedTokens: tokenFailures,
      failedConnect,
      notInWorld: N - tokenFailures - failedConnect - inWorld,
      closedBeforeMeasure: lostBefore,
      closedDuringMeasure: lostDuringRun - lostBefore,
      closeCodes: Object.fromEntries(closeCodes),
    },
    loadgen: {
      cpuPct: round(((cpu.user + cpu.system) / 1e6 / seconds) * 100),
      eventLoopDelayP99Ms: round(loop.percentile(99) / 1e6),
      eventLoopDelayMaxMs: round(loop.max / 1e6),
      rssMB: round(process.memoryUsage.rss() / 2 ** 20),
    },
  };
  emit('result', result);
  stopping = true;
  for (const c of clients) c.ws?.terminate();
}

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

main().then(
  () => {
    // Sockets were terminated; give stdout a moment to drain, then leave whatever is still pending.
    setTimeout(() => process.exit(0), 200).unref();
  },
  (error) => {
    say(`failed: ${error instanceof Error ? error.message : String(error)}`);
    emit('error', { message: error instanceof Error ? error.message : String(error) });
    stopping = true;
    for (const c of clients) c.ws?.terminate();
    setTimeout(() => process.exit(1), 200).unref();
  },
);

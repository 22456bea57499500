/**
 * One worker process of scripts/load-generator.ts: owns every W-th of the N clients (global index
 * i ≡ worker (mod W)), takes their guest tokens, enters them into the world when told, sends their moves
 * on the schedule the parent set, counts what comes back, and hands its counters to the parent, which
 * merges the workers' results into one. Started with `fork` by the parent: commands and answers go over
 * the IPC channel (LoadWorkerCommand / LoadWorkerReport below); no output on stdout.
 *
 * Lean on purpose, 5,000 sockets are a lot for one process: the clients speak WebSocket through
 * scripts/bench-ws-client.ts (a frame read whole is handed on as a view, a move is one write; `--client
 * ws` uses the `ws` library instead, to compare), each client's MyTransform frame is written into one
 * buffer of its own (copied while masking, so the buffer is reused at the next move), one timer walks
 * every client's send slots, and only observers decode what they receive.
 *
 * A move carries its own send time (rotation.x: wall-clock ms modulo 65,536, exact to ~0.01 ms in a
 * float32) and its sequence number modulo 1000 (position.y), and rotation.z marks it as ours: an observer
 * in any worker can tell a move's latency without knowing the sender's process. Clocks are
 * `performance.timeOrigin + performance.now()`, one machine, one wall clock.
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { decode, encode, TYPE_IDS } from '../protocol/posbus/index.ts';
import { BenchWsClient } from './bench-ws-client.ts';

export interface LoadWorkerOptions {
  url: string;
  world: string;
  /** All clients, over all workers. */
  clients: number;
  workers: number;
  worker: number;
  observers: number;
  periodMs: number;
  spread: number;
  wander: number;
  cell: number;
  concurrency: number;
  setupTimeoutMs: number;
  /** `lean`: scripts/bench-ws-client.ts; `ws`: the ws library. */
  client: 'lean' | 'ws';
}

/** What the worker needs of a client connection, whichever WebSocket client implements it. */
interface Connection {
  readonly isOpen: boolean;
  send(payload: Uint8Array): void;
  terminate(): void;
}

interface ConnectionEvents {
  open(): void;
  message(data: Buffer): void;
  close(code: number): void;
  error(error: Error): void;
}

function connectWith(kind: LoadWorkerOptions['client'], url: string, events: ConnectionEvents): Connection {
  if (kind === 'lean') return new BenchWsClient(url, events);
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 20_000 });
  ws.on('open', events.open);
  ws.on('message', (data, isBinary) => {
    if (isBinary) events.message(data as Buffer);
  });
  ws.on('error', events.error);
  ws.on('close', events.close);
  return {
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
    // ws masks the payload into a buffer of its own before send returns: the frame can be rewritten next time.
    send: (payload) => ws.send(payload),
    terminate: () => ws.terminate(),
  };
}

export type LoadWorkerCommand =
  | { cmd: 'enter' }
  | { cmd: 'send'; t0: number }
  | { cmd: 'measure-start' }
  | { cmd: 'measure-end' }
  | { cmd: 'stop' };

export interface WorkerCounters {
  movesSent: number;
  slotsSkipped: number;
  framesReceived: number;
  bytesReceived: number;
  entriesReceived: number;
  otherFrames: number;
  otherBytes: number;
  obsFrames: number;
  obsEntries: number;
  obsSelf: number;
  obsDuplicates: number;
  obsUnmatched: number;
  obsSkipped: number;
}

export interface WorkerResult {
  counters: WorkerCounters;
  /** Latency histogram, LATENCY_BUCKET_MS wide buckets: [bucket, count] for non-empty ones. */
  latency: [number, number][];
  latencyMaxMs: number;
  latencySumMs: number;
  latencyCount: number;
  inWorld: number;
  observers: number;
  closedBeforeMeasure: number;
  closedDuringMeasure: number;
  closeCodes: Record<string, number>;
  cpuMs: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  rssMB: number;
}

export type LoadWorkerReport =
  | { type: 'tokens'; ok: number; failed: number; ms: number }
  | { type: 'progress'; joined: number }
  | { type: 'entered'; inWorld: number; failedConnect: number; notInWorld: number }
  | { type: 'result'; result: WorkerResult }
  | { type: 'error'; message: string };

export const LATENCY_BUCKET_MS = 0.05;
const LATENCY_BUCKETS = 60_000 / LATENCY_BUCKET_MS;
const RING = 1000;
/** rotation.z of every move the generator sends: an entry without it is not one of ours (a spawn pose). */
const MARK = 7;
const CLOCK_WRAP_MS = 65_536;

const TYPE_USERS_TRANSFORM_LIST = TYPE_IDS.UsersTransformList;
const TYPE_SET_WORLD = TYPE_IDS.SetWorld;

const wallNow = () => performance.timeOrigin + performance.now();

interface Client {
  readonly index: number;
  id: string;
  token: string;
  ws: Connection | undefined;
  readonly homeX: number;
  readonly homeZ: number;
  x: number;
  z: number;
  seq: number;
  /** This client's MyTransform frame, rewritten in place for every move. */
  readonly frame: Buffer;
  joined: boolean;
  lost: boolean;
  /** Observers only: the last sequence number seen from each other user. */
  lastSeen: Map<string, number> | undefined;
}

const send = (report: LoadWorkerReport) => process.send?.(report);

export function runWorker(o: LoadWorkerOptions): void {
  const WS_URL = `${o.url.replace(/^http/, 'ws')}/posbus`;
  const say = (message: string) => process.stderr.write(`[loadgen ${o.worker}] ${message}\n`);

  const home = (): number => {
    const v = (Math.random() * 2 - 1) * o.spread;
    if (!(o.cell > 2 * o.wander)) return v;
    const cellStart = Math.floor(v / o.cell) * o.cell;
    return cellStart + o.wander + Math.random() * (o.cell - 2 * o.wander);
  };
  const K = Math.min(o.clients, o.observers);
  const observerSet = new Set<number>();
  for (let k = 0; k < K; k++) observerSet.add(Math.floor((k * o.clients) / K));

  const clients: Client[] = [];
  for (let i = o.worker; i < o.clients; i += o.workers) {
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
      frame: Buffer.alloc(64),
      joined: false,
      lost: false,
      lastSeen: observerSet.has(i) ? new Map() : undefined,
    });
  }

  let measuring = false;
  let stopping = false;
  const counters: WorkerCounters = {
    movesSent: 0,
    slotsSkipped: 0,
    framesReceived: 0,
    bytesReceived: 0,
    entriesReceived: 0,
    otherFrames: 0,
    otherBytes: 0,
    obsFrames: 0,
    obsEntries: 0,
    obsSelf: 0,
    obsDuplicates: 0,
    obsUnmatched: 0,
    obsSkipped: 0,
  };
  const histogram = new Uint32Array(LATENCY_BUCKETS + 1);
  let latencyMax = 0;
  let latencySum = 0;
  let latencyCount = 0;
  const closeCodes: Record<string, number> = {};
  let failedConnect = 0;
  let lostDuringRun = 0;
  let lostBefore = 0;

  const onFrame = (client: Client, data: Buffer): void => {
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
    if (client.lastSeen) observe(client, client.lastSeen, data);
  };

  const observe = (observer: Client, lastSeen: Map<string, number>, data: Buffer): void => {
    const now = wallNow() % CLOCK_WRAP_MS;
    const message = decode(data);
    if (message.type !== 'UsersTransformList') return;
    counters.obsFrames++;
    for (const entry of message.value) {
      counters.obsEntries++;
      if (entry.id === observer.id) {
        counters.obsSelf++;
        continue;
      }
      const { position, rotation } = entry.transform;
      const slot = position.y;
      if (rotation.z !== MARK || !Number.isInteger(slot) || slot < 0 || slot >= RING) {
        counters.obsUnmatched++;
        continue;
      }
      const last = lastSeen.get(entry.id);
      if (last === slot) {
        counters.obsDuplicates++;
        continue;
      }
      if (last !== undefined) counters.obsSkipped += (slot - last - 1 + RING) % RING;
      lastSeen.set(entry.id, slot);
      const ms = (now - rotation.x + CLOCK_WRAP_MS) % CLOCK_WRAP_MS;
      histogram[Math.min(LATENCY_BUCKETS, Math.floor(ms / LATENCY_BUCKET_MS))]++;
      if (ms > latencyMax) latencyMax = ms;
      latencySum += ms;
      latencyCount++;
    }
  };

  const sendMove = (client: Client): void => {
    const ws = client.ws;
    if (!ws || client.lost || !ws.isOpen) return;
    client.x = clamp(client.x + (Math.random() - 0.5) * 2, client.homeX - o.wander, client.homeX + o.wander);
    client.z = clamp(client.z + (Math.random() - 0.5) * 2, client.homeZ - o.wander, client.homeZ + o.wander);
    const slot = client.seq % RING;
    client.seq++;
    const length = writeMyTransform(
      client.frame,
      client.x,
      slot,
      client.z,
      wallNow() % CLOCK_WRAP_MS,
      (client.seq % 360) - 180,
      MARK,
    );
    ws.send(client.frame.subarray(0, length));
    if (measuring) counters.movesSent++;
  };

  const open = (client: Client): Promise<void> =>
    new Promise((resolve) => {
      let opened = false;
      const ws = connectWith(o.client, WS_URL, {
        open: () => {
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
          ws.send(encode({ type: 'TeleportRequest', target: o.world }));
          // Straight to its home: without it every client stays at the spawn point until sending starts.
          sendMove(client);
          resolve();
        },
        message: (data) => onFrame(client, data),
        error: (error) => {
          if (!opened) {
            failedConnect++;
            client.lost = true;
            say(`client ${client.index}: connect failed: ${error.message}`);
            resolve();
          }
        },
        close: (code) => {
          if (stopping || !opened) return;
          client.lost = true;
          lostDuringRun++;
          closeCodes[String(code)] = (closeCodes[String(code)] ?? 0) + 1;
        },
      });
      client.ws = ws;
    });

  /** Client j of this worker sends its k-th move at t0 + worker·P/N + (k·n + j)·P/n: one timer for all. */
  const startSending = (t0Global: number): (() => void) => {
    const n = clients.length;
    const t0 = t0Global + (o.worker * o.periodMs) / o.clients;
    const slotMs = o.periodMs / n;
    let done = 0;
    const timer = setInterval(() => {
      const elapsed = wallNow() - t0;
      if (elapsed < 0) return;
      const due = Math.floor(elapsed / slotMs) + 1;
      if (due - done > n) {
        if (measuring) counters.slotsSkipped += due - n - done;
        done = due - n;
      }
      for (; done < due; done++) sendMove(clients[done % n]);
    }, 2);
    return () => clearInterval(timer);
  };

  let stopSending: (() => void) | undefined;
  let loop: ReturnType<typeof monitorEventLoopDelay> | undefined;
  let cpu0: NodeJS.CpuUsage | undefined;

  const enter = async (): Promise<void> => {
    const deadline = performance.now() + o.setupTimeoutMs;
    const progress = setInterval(
      () => send({ type: 'progress', joined: clients.filter((c) => c.joined).length }),
      1000,
    );
    try {
      await pool(
        clients.filter((c) => !c.lost),
        o.concurrency,
        (c) => open(c),
      );
      while (!clients.every((c) => c.joined || c.lost)) {
        if (performance.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      clearInterval(progress);
    }
    const inWorld = clients.filter((c) => c.joined && !c.lost).length;
    const notInWorld = clients.filter((c) => !c.joined && !c.lost).length;
    send({ type: 'entered', inWorld, failedConnect, notInWorld });
  };

  const result = (): WorkerResult => {
    const cpu = process.cpuUsage(cpu0);
    const latency: [number, number][] = [];
    for (let b = 0; b < histogram.length; b++) if (histogram[b]) latency.push([b, histogram[b]]);
    return {
      counters: { ...counters },
      latency,
      latencyMaxMs: latencyMax,
      latencySumMs: latencySum,
      latencyCount,
      inWorld: clients.filter((c) => c.joined && !c.lost).length,
      observers: clients.filter((c) => c.lastSeen && !c.lost).length,
      closedBeforeMeasure: lostBefore,
      closedDuringMeasure: lostDuringRun - lostBefore,
      closeCodes,
      cpuMs: (cpu.user + cpu.system) / 1000,
      eventLoopDelayP99Ms: loop ? loop.percentile(99) / 1e6 : 0,
      eventLoopDelayMaxMs: loop ? loop.max / 1e6 : 0,
      rssMB: process.memoryUsage.rss() / 2 ** 20,
    };
  };

  const stop = () => {
    stopping = true;
    stopSending?.();
    for (const c of clients) c.ws?.terminate();
    setTimeout(() => process.exit(0), 200).unref();
  };

  process.on('message', (command: LoadWorkerCommand) => {
    switch (command.cmd) {
      case 'enter':
        enter().catch((e) => send({ type: 'error', message: (e as Error).message }));
        break;
      case 'send':
        stopSending = startSending(command.t0);
        break;
      case 'measure-start':
        for (const key of Object.keys(counters) as (keyof WorkerCounters)[]) counters[key] = 0;
        histogram.fill(0);
        latencyMax = 0;
        latencySum = 0;
        latencyCount = 0;
        lostBefore = lostDuringRun;
        loop = monitorEventLoopDelay({ resolution: 10 });
        loop.enable();
        cpu0 = process.cpuUsage();
        measuring = true;
        break;
      case 'measure-end':
        measuring = false;
        loop?.disable();
        send({ type: 'result', result: result() });
        break;
      case 'stop':
        stop();
        break;
    }
  });
  // The parent gone (killed, crashed): nothing left to report to.
  process.on('disconnect', stop);

  // Tokens right away; entering waits for the parent, so that every worker enters at the same time.
  const tokensStart = performance.now();
  let failed = 0;
  pool(clients, o.concurrency, async (c) => {
    try {
      const res = await fetch(`${o.url}/api/v4/auth/guest-token`, {
        method: 'POST',
        body: '{}',
        signal: AbortSignal.timeout(20_000),
      });
      if (!res.ok) throw new Error(`guest-token: HTTP ${res.status}`);
      const body = (await res.json()) as { id: string; token: string };
      c.id = body.id;
      c.token = body.token;
    } catch (e) {
      failed++;
      c.lost = true;
      say(`client ${c.index}: ${(e as Error).message}`);
    }
  }).then(
    () => send({ type: 'tokens', ok: clients.length - failed, failed, ms: performance.now() - tokensStart }),
    (e) => send({ type: 'error', message: (e as Error).message }),
  );
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

const MY_TRANSFORM = TYPE_IDS.MyTransform;
const f32 = new DataView(new ArrayBuffer(4));

/**
 * A MyTransform frame (SPEC.md: type id, six f32 — each a float32's byte-reversed bits as a varint —,
 * inverted type id) written into `out` without allocating; returns its length. Checked against the
 * codec's `encode` at start-up (see `checkWriter`).
 */
export function writeMyTransform(
  out: Buffer,
  px: number,
  py: number,
  pz: number,
  rx: number,
  ry: number,
  rz: number,
): number {
  out.writeUInt32LE(MY_TRANSFORM, 0);
  let pos = 4;
  pos = writeF32(out, pos, px);
  pos = writeF32(out, pos, py);
  pos = writeF32(out, pos, pz);
  pos = writeF32(out, pos, rx);
  pos = writeF32(out, pos, ry);
  pos = writeF32(out, pos, rz);
  out.writeUInt32LE(~MY_TRANSFORM >>> 0, pos);
  return pos + 4;
}

function writeF32(out: Buffer, pos: number, v: number): number {
  f32.setFloat32(0, v, false);
  let u = f32.getUint32(0, true);
  while (u >= 0x80) {
    out[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  out[pos++] = u;
  return pos;
}

/** The hand-written frame must be the codec's, byte for byte; a worker refuses to start otherwise. */
export function checkWriter(): void {
  const out = Buffer.alloc(64);
  for (const v of [
    [0, 0, 0, 0, 0, 0],
    [1.5, 999, -812.25, 61234.567, -179, 7],
    [Math.PI, 3, 1e6, 0.001, 180, -7],
  ]) {
    const [px, py, pz, rx, ry, rz] = v;
    const length = writeMyTransform(out, px, py, pz, rx, ry, rz);
    const expected = encode({
      type: 'MyTransform',
      position: { x: px, y: py, z: pz },
      rotation: { x: rx, y: ry, z: rz },
    });
    if (!out.subarray(0, length).equals(expected)) throw new Error(`MyTransform writer differs for ${v}`);
  }
}

async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

// Started by the parent with the options as JSON in argv[2].
if (process.send && process.argv[2]?.startsWith('{')) {
  checkWriter();
  runWorker(JSON.parse(process.argv[2]) as LoadWorkerOptions);
}

/**
 * Benchmarks the PosBus codec (protocol/posbus) against cbor-x on the same message objects and prints a
 * markdown table: ops/s, MB/s of the encoded form and bytes per message, for encode and decode.
 *
 *   npm run bench                         # the table (about 80 s)
 *   npm run bench -- --round-ms=1000      # longer rounds (default 250 ms; 5 rounds per row)
 *   npm run bench -- --cbor-configs       # a table of more cbor-x configurations, cbor-x only
 *
 * Each case and op: a warm-up, then 5 rounds in which posbus and every cbor-x configuration take turns (so
 * that noise from other processes on the machine hits all alike); ops/s is the median of the rounds, and
 * the fastest cbor-x configuration is the one compared. Data comes from a fixed seed, so every run
 * encodes the same messages.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  decode as cborDecode,
  encode as cborEncode,
  Encoder,
  FLOAT32_OPTIONS,
  isNativeAccelerationEnabled,
  type Options,
} from 'cbor-x';
import {
  type AddObjects,
  decode,
  encode,
  type Message,
  type MyTransform,
  type ObjectDefinition,
  type UsersTransformList,
  type Vec3,
} from '../protocol/posbus/index.ts';

// ---- options -------------------------------------------------------------------------------------

const args = process.argv.slice(2);
function numberArg(name: string, fallback: number): number {
  const arg = args.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.slice(name.length + 3)) : fallback;
}
const ROUND_MS = numberArg('round-ms', 250);
const ROUNDS = numberArg('rounds', 5);
const WARMUP_MS = numberArg('warmup-ms', 300);

// ---- realistic data from a fixed seed ------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so every run benchmarks the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(0x0dd5e7);

function randomUmid(): string {
  let hex = '';
  for (let i = 0; i < 32; i++) hex += Math.floor(random() * 16).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
/** A float32 value in [min, max). */
const f32 = (min: number, max: number) => Math.fround(min + random() * (max - min));
const position = (): Vec3 => ({ x: f32(-500, 500), y: f32(-500, 500), z: f32(-500, 500) });
/** Euler angles in degrees, as the Odyssey client sends them. */
const rotation = (): Vec3 => ({ x: f32(-180, 180), y: f32(-180, 180), z: f32(-180, 180) });

function usersTransformList(n: number): UsersTransformList {
  return {
    type: 'UsersTransformList',
    value: Array.from({ length: n }, () => ({
      id: randomUmid(),
      transform: { position: position(), rotation: rotation() },
    })),
  };
}

function addObjects(n: number): AddObjects {
  const world = randomUmid();
  const assetTypes = Array.from({ length: 8 }, randomUmid);
  const objects: ObjectDefinition[] = Array.from({ length: n }, (_, i) => {
    const s = f32(0.5, 4);
    return {
      id: randomUmid(),
      parentId: world,
      assetType: assetTypes[i % assetTypes.length],
      assetFormat: i % 3 === 0 ? 1 : 2,
      name: `Object ${i + 1}`,
      transform: { position: position(), rotation: rotation(), scale: { x: s, y: s, z: s } },
      isEditable: true,
      tetheredToParent: i % 4 !== 0,
      showOnMinimap: i % 2 === 0,
    };
  });
  return { type: 'AddObjects', objects };
}

const myTransform: MyTransform = { type: 'MyTransform', position: position(), rotation: rotation() };

const CASES: { name: string; message: Message }[] = [
  { name: 'UsersTransformList ×10', message: usersTransformList(10) },
  { name: 'UsersTransformList ×100', message: usersTransformList(100) },
  { name: 'UsersTransformList ×1000', message: usersTransformList(1000) },
  { name: 'MyTransform', message: myTransform },
  { name: 'AddObjects ×100', message: addObjects(100) },
];

// ---- codecs --------------------------------------------------------------------------------------

interface Codec {
  name: string;
  encode(m: Message): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

const posbus: Codec = { name: 'posbus', encode, decode };

function cborCodec(name: string, options?: Options): Codec {
  if (!options) return { name, encode: cborEncode, decode: cborDecode };
  const e = new Encoder(options);
  return { name, encode: (m) => e.encode(m), decode: (b) => e.decode(b) };
}

const { ALWAYS } = FLOAT32_OPTIONS;

/**
 * cbor-x configurations the table picks from: for every row, the fastest of these (measured in the same
 * interleaved rounds as posbus) is the one reported. All are self-contained: every message decodes without
 * state from earlier messages. `useRecords: true` sends tag-105 record definitions inline in each message
 * (cbor-x's own fast path for arrays of same-shaped objects); `useFloat32: ALWAYS` writes non-integers as
 * float32, which is lossless here since every PosBus f32 is a float32 already. An Encoder is created once
 * and reused (it also decodes).
 */
const CBOR_CONTENDERS: { label: string; text: string; options?: Options }[] = [
  { label: 'cbor-x (defaults)', text: '`encode()` / `decode()` exported by cbor-x (no records, float64)' },
  {
    label: 'cbor-x (f32)',
    text: '`new Encoder({ useRecords: false, useFloat32: FLOAT32_OPTIONS.ALWAYS })`',
    options: { useRecords: false, useFloat32: ALWAYS },
  },
  { label: 'cbor-x (records)', text: '`new Encoder({ useRecords: true })`', options: { useRecords: true } },
  {
    label: 'cbor-x (records+f32)',
    text: '`new Encoder({ useRecords: true, useFloat32: FLOAT32_OPTIONS.ALWAYS })`',
    options: { useRecords: true, useFloat32: ALWAYS },
  },
];
const cborContenders = () => CBOR_CONTENDERS.map((c) => cborCodec(c.label, c.options));

/** More configurations, for `--cbor-configs` only. */
const CBOR_EXTRAS: typeof CBOR_CONTENDERS = [
  {
    label: 'cbor-x (no records)',
    text: 'a reused `new Encoder({ useRecords: false })`: the defaults, as an instance',
    options: { useRecords: false },
  },
  {
    label: 'cbor-x (pack+f32)',
    text: '`new Encoder({ pack: true, useFloat32: FLOAT32_OPTIONS.ALWAYS })`',
    options: { pack: true, useFloat32: ALWAYS },
  },
  // Not fair game for the table: shared structures keep record definitions out of the messages, but both
  // peers must then hold the same state. (`sequential: true` is similar: only the first message is complete.)
  {
    label: 'cbor-x (structures+f32) [stateful]',
    text: '`new Encoder({ structures: [], useFloat32: FLOAT32_OPTIONS.ALWAYS })`: needs shared state',
    options: { structures: [], useFloat32: ALWAYS },
  },
];

/** Both codecs must give every message back deep-equal (its floats are float32 values already). */
function checkRoundTrip(codec: Codec, name: string, message: Message): void {
  const back = codec.decode(codec.encode(message));
  if (!isDeepStrictEqual(back, message)) throw new Error(`${codec.name} does not round-trip ${name}`);
}

// ---- timing --------------------------------------------------------------------------------------

/** Every result goes here, so that no call can be optimised away. */
let _sink: unknown;

/** Calls `fn` in batches until `ms` milliseconds have passed; returns calls per second. */
function run(fn: () => unknown, batch: number, ms: number): number {
  const budget = BigInt(Math.round(ms * 1e6));
  const start = process.hrtime.bigint();
  let calls = 0;
  let elapsed = 0n;
  do {
    for (let i = 0; i < batch; i++) _sink = fn();
    calls += batch;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return (calls * 1e9) / Number(elapsed);
}

/** A batch size that takes about 2 ms, found while warming up for `WARMUP_MS`. */
function warmUp(fn: () => unknown): number {
  const until = process.hrtime.bigint() + BigInt(WARMUP_MS * 1e6);
  let batch = 1;
  while (process.hrtime.bigint() < until) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) _sink = fn();
    if (Number(process.hrtime.bigint() - t0) < 2e6) batch *= 2;
  }
  return batch;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Row {
  caseName: string;
  codec: string;
  op: 'encode' | 'decode';
  opsPerSec: number;
  bytes: number;
}

/** Measures one case and op for several codecs, their rounds interleaved. */
function measure(caseName: string, message: Message, op: 'encode' | 'decode', codecs: Codec[]): Row[] {
  const fns = codecs.map((c) => {
    if (op === 'encode') return () => c.encode(message);
    const bytes = c.encode(message);
    return () => c.decode(bytes);
  });
  const batches = fns.map(warmUp);
  const samples: number[][] = codecs.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < codecs.length; i++) samples[i].push(run(fns[i], batches[i], ROUND_MS));
  }
  return codecs.map((c, i) => ({
    caseName,
    codec: c.name,
    op,
    opsPerSec: median(samples[i]),
    bytes: c.encode(message).length,
  }));
}

// ---- output --------------------------------------------------------------------------------------

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mbPerSec = (r: Row) => (r.opsPerSec * r.bytes) / 1e6;

function printTable(header: string[], rows: string[][]): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i >= 3 && i <= 5 ? ' ---: |' : ' --- |')).join('')}`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

function main(): void {
  console.log(`Node ${process.version}, ${ROUNDS} rounds × ${ROUND_MS} ms per row, median ops/s.`);

  if (args.includes('--cbor-configs')) {
    const all = [...CBOR_CONTENDERS, ...CBOR_EXTRAS];
    const candidates = all.map((c) => cborCodec(c.label, c.options));
    const rows: string[][] = [];
    for (const { name, message } of CASES) {
      for (const c of candidates) checkRoundTrip(c, name, message);
      for (const op of ['encode', 'decode'] as const) {
        for (const r of measure(name, message, op, candidates)) {
          rows.push([r.caseName, r.codec, r.op, fmt(r.opsPerSec), fmt(mbPerSec(r), 1), fmt(r.bytes)]);
        }
      }
    }
    printTable(['case', 'cbor-x configuration', 'op', 'ops/s', 'MB/s', 'bytes/msg'], rows);
    console.log('');
    for (const c of all) console.log(`- ${c.label}: ${c.text}`);
    return;
  }

  const native = isNativeAccelerationEnabled ? 'on (cbor-extract)' : 'off';
  console.log(
    `cbor-x: the fastest of ${CBOR_CONTENDERS.length} configurations per row; native decoding ${native}.\n`,
  );
  const contenders = cborContenders();
  const rows: string[][] = [];
  const verdicts: boolean[] = [];
  for (const { name, message } of CASES) {
    checkRoundTrip(posbus, name, message);
    for (const c of contenders) {
      checkRoundTrip(c, name, message);
      // Self-contained: a decoder that has seen nothing else decodes it too.
      if (!isDeepStrictEqual(cborDecode(c.encode(message)), message)) {
        throw new Error(`${c.name}: output of ${name} is not self-contained`);
      }
    }
    for (const op of ['encode', 'decode'] as const) {
      const [p, ...others] = measure(name, message, op, [posbus, ...contenders]);
      const c = others.reduce((best, r) => (r.opsPerSec > best.opsPerSec ? r : best));
      const ratio = p.opsPerSec / c.opsPerSec;
      verdicts.push(ratio >= 1);
      const verdict = `${ratio >= 1 ? 'yes' : '**no**'} (${fmt(ratio, 2)}×)`;
      for (const r of [p, c]) {
        rows.push([r.caseName, r.codec, r.op, fmt(r.opsPerSec), fmt(mbPerSec(r), 1), fmt(r.bytes), verdict]);
      }
    }
  }
  printTable(['case', 'codec', 'op', 'ops/s', 'MB/s', 'bytes/msg', 'posbus ≥ cbor-x'], rows);
  console.log('');
  for (const c of CBOR_CONTENDERS) console.log(`- ${c.label}: ${c.text}`);
  const wins = verdicts.filter(Boolean).length;
  console.log(`\nposbus ≥ cbor-x on ${wins} of ${verdicts.length} case/op pairs.`);
}

main();

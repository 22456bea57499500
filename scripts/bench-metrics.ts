/**
 * What counting a PosBus frame for /metrics costs: CPU per frame and garbage per frame of the node's frame
 * counters (node/posbus/traffic.ts), next to prom-client's own counters used the direct way, on real
 * frames (a UsersTransformList of 100 users, a MyTransform). Prints a markdown table.
 *
 *   npm run bench:metrics                       # 3 rounds of 5,000,000 frames per row
 *   npm run bench:metrics -- --frames=1000000   # fewer
 *
 * Garbage is counted as the minor GCs (scavenges) V8 ran during a row: code that allocates nothing per
 * frame runs none, whatever the frame count. CPU is process.cpuUsage (user + system) per frame, the median
 * of the rounds; the machine is shared, so compare rows of one run rather than runs.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Counter, Registry } from 'prom-client';
import { PosbusTraffic } from '../node/posbus/traffic.ts';
import { encode, type Message } from '../protocol/posbus/index.ts';

const arg = process.argv.find((a) => a.startsWith('--frames='));
const FRAMES = arg ? Number(arg.slice('--frames='.length)) : 5_000_000;
const ROUNDS = 3;

const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const frames: Uint8Array[] = [
  encode({
    type: 'UsersTransformList',
    value: Array.from({ length: 100 }, (_, i) => ({
      id: uuid(i),
      transform: { position: { x: i, y: 1, z: -i }, rotation: { x: 0, y: i / 100, z: 0 } },
    })),
  } as Message),
  encode({ type: 'MyTransform', position: { x: 1, y: 2, z: 3 }, rotation: { x: 0, y: 1, z: 0 } } as Message),
];

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if ((entry as { detail?: { kind?: number } }).detail?.kind === 1) scavenges++;
}).observe({ entryTypes: ['gc'] });

/** Median CPU ns per frame over the rounds (after a warm-up). */
function measure(count: (frame: Uint8Array) => void): number {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < FRAMES; i++) count(frames[i & 1]);
    const used = process.cpuUsage(cpu);
    samples.push(((used.user + used.system) * 1000) / FRAMES);
  }
  samples.sort((a, b) => a - b);
  return samples[1];
}

const settle = () => new Promise((r) => setTimeout(r, 100));

const registry = new Registry();
const promFrames = new Counter({
  name: 'frames_total',
  help: 'frames',
  labelNames: ['direction', 'type'],
  registers: [registry],
});
const promBytes = new Counter({
  name: 'bytes_total',
  help: 'bytes',
  labelNames: ['direction', 'type'],
  registers: [registry],
});
const childFrames = promFrames.labels('out', 'UsersTransformList');
const childBytes = promBytes.labels('out', 'UsersTransformList');
const traffic = new PosbusTraffic();

const rows: [string, (frame: Uint8Array) => void][] = [
  ['nothing counted (loop only)', () => {}],
  ['PosbusTraffic.sent (what the node does)', (f) => traffic.sent(f)],
  [
    'prom-client inc({direction, type}) per frame',
    (f) => {
      promFrames.inc({ direction: 'out', type: 'UsersTransformList' });
      promBytes.inc({ direction: 'out', type: 'UsersTransformList' }, f.length);
    },
  ],
  [
    'prom-client labels() child, inc per frame',
    (f) => {
      childFrames.inc();
      childBytes.inc(f.length);
    },
  ],
];

console.log(
  `Node ${process.version}, ${ROUNDS} rounds × ${FRAMES.toLocaleString('en-US')} frames per row.\n`,
);
console.log('| counting | CPU ns/frame (median) | minor GCs in the row |');
console.log('| --- | ---: | ---: |');
for (const [name, count] of rows) {
  for (let i = 0; i < 200_000; i++) count(frames[i & 1]);
  // GC entries reach the observer asynchronously: settle before and after reading the count.
  await settle();
  const before = scavenges;
  const nsPerFrame = measure(count);
  await settle();
  console.log(`| ${name} | ${nsPerFrame.toFixed(1)} | ${scavenges - before} |`);
}
if (traffic.framesOut.reduce((a, b) => a + b, 0) === 0) throw new Error('nothing was counted');

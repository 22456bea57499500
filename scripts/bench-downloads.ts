/**
 * `npm run bench:downloads`: the two ways a local asset can leave the node, side by side in one process
 * and the same minute: straight to the socket with pooled buffers (the node's own server) and through
 * the web `ReadableStream` that @hono/node-server pumps (the same app served without `withDirectBodies`).
 * The client is curl in its own process, so the node's CPU (process.cpuUsage: every thread, kernel
 * included) is the server's alone; V8's garbage collections are counted per download. The yardstick is
 * a read stream over the same bytes from a file (page cache), in a fresh Node process.
 *
 *   npm run bench:downloads [-- --size=200 --rounds=5]   (size in MB)
 *
 * The node runs in-process with a temp data dir and stops by itself; loopback only. Needs curl.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { getRequestListener } from '@hono/node-server';
import { OdysseyNode } from '../composition/main.ts';
import { loadConfig } from '../node/config.ts';

const MB = 1_000_000;
const option = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const SIZE = option('size', 200) * MB;
const ROUNDS = option('rounds', 5);

let gcCount = 0;
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcCount++;
    gcMs += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

interface Sample {
  mbPerS: number;
  mbPerCpuS: number;
  gcs: number;
  gcMs: number;
}

/** One download by curl; the server's CPU and GCs over it (this process is the server). */
async function curlDownload(url: string): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const [gc0, gcMs0] = [gcCount, gcMs];
  const curl = spawn('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', url]);
  let out = '';
  curl.stdout.on('data', (d) => {
    out += d;
  });
  const code = await new Promise((resolve) => curl.on('close', resolve));
  const cpu = process.cpuUsage(cpu0);
  const [bytes, seconds] = out.trim().split(' ').map(Number);
  if (code !== 0 || bytes !== SIZE) throw new Error(`curl: exit ${code}, ${bytes} of ${SIZE} bytes`);
  return {
    mbPerS: SIZE / MB / seconds,
    mbPerCpuS: SIZE / MB / ((cpu.user + cpu.system) / 1e6),
    gcs: gcCount - gc0,
    gcMs: gcMs - gcMs0,
  };
}

/**
 * A read stream over the file in a fresh Node process (this one holds the node's heap, whose collections
 * would slow the yardstick down): its own wall time, CPU and GCs, as bench:assets reads (1 MiB reads).
 */
async function readStreamSample(file: string): Promise<Sample> {
  const script = `
    const { createReadStream } = require('node:fs');
    const { PerformanceObserver } = require('node:perf_hooks');
    let gcs = 0, gcMs = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) { gcs++; gcMs += e.duration; } }).observe({ entryTypes: ['gc'] });
    (async () => {
      const cpu0 = process.cpuUsage(); const start = performance.now(); let bytes = 0;
      for await (const chunk of createReadStream(process.argv[1], { highWaterMark: 1 << 20 })) bytes += chunk.length;
      const ms = performance.now() - start; const cpu = process.cpuUsage(cpu0);
      setImmediate(() => console.log(JSON.stringify({ bytes, ms, cpu: cpu.user + cpu.system, gcs, gcMs })));
    })();`;
  const child = spawn(process.execPath, ['-e', script, file]);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise((resolve) => child.on('close', resolve));
  const r = JSON.parse(out) as { bytes: number; ms: number; cpu: number; gcs: number; gcMs: number };
  if (r.bytes !== SIZE) throw new Error(`read ${r.bytes} of ${SIZE} bytes`);
  return {
    mbPerS: SIZE / MB / (r.ms / 1000),
    mbPerCpuS: SIZE / MB / (r.cpu / 1e6),
    gcs: r.gcs,
    gcMs: r.gcMs,
  };
}

function bytesOf(size: number): Buffer {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 9), Buffer.alloc(16, 0));
  const out = cipher.update(Buffer.alloc(size));
  out.write('glTF', 0, 'latin1');
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs: number[], digits = 0) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

async function main() {
  if (spawnSync('curl', ['--version']).error) throw new Error('bench:downloads needs curl');
  const dir = await mkdtemp(join(tmpdir(), 'odyssey-bench-downloads-'));
  const node = new OdysseyNode(
    loadConfig({
      flags: {
        data: join(dir, 'node'),
        host: '127.0.0.1',
        port: 0,
        p2pPort: 0,
        p2pWsPort: 0,
        logLevel: 'silent',
        assetMaxModelBytes: 2 ** 31,
        guestUploadQuotaMb: 2 ** 20,
      },
    }),
  );
  await node.start();
  const webStream = createServer(getRequestListener(node.app.fetch));
  await new Promise<void>((resolve) => webStream.listen(0, '127.0.0.1', resolve));
  try {
    const data = bytesOf(SIZE);
    const { token } = (await (
      await fetch(`${node.url}/api/v4/auth/guest-token`, { method: 'POST', body: '{}' })
    ).json()) as { token: string };
    const form = new FormData();
    form.append('file', new Blob([data]), 'bench.glb');
    const uploaded = await fetch(`${node.url}/api/v4/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    const { cid } = (await uploaded.json()) as { cid: string };
    const file = join(dir, 'plain');
    await writeFile(file, data);

    const paths = {
      'straight to the socket (pooled buffers)': `${node.url}/api/v4/assets/${cid}`,
      'web ReadableStream (node-server)': `http://127.0.0.1:${(webStream.address() as AddressInfo).port}/api/v4/assets/${cid}`,
    };
    const samples = new Map<string, Sample[]>(
      [...Object.keys(paths), 'read stream of the file'].map((k) => [k, []]),
    );
    // A warm-up of each, then the rounds, alternating which goes first.
    for (const url of Object.values(paths)) await curlDownload(url);
    for (let round = 0; round < ROUNDS; round++) {
      const order = Object.entries(paths);
      if (round % 2) order.reverse();
      for (const [name, url] of order) samples.get(name)?.push(await curlDownload(url));
      samples.get('read stream of the file')?.push(await readStreamSample(file));
    }
    console.log(
      `${SIZE / MB} MB, ${ROUNDS} rounds, medians (min–max); the node's CPU (all threads, kernel included)\n`,
    );
    console.log('| path | MB/s (curl) | node MB per CPU-s | GCs per download | GC ms per download |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const [name, list] of samples) {
      console.log(
        `| ${name} | ${range(list.map((s) => s.mbPerS))} | ${range(list.map((s) => s.mbPerCpuS))} | ` +
          `${range(list.map((s) => s.gcs))} | ${range(
            list.map((s) => s.gcMs),
            1,
          )} |`,
      );
    }
  } finally {
    await new Promise((resolve) => webStream.close(resolve));
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * `npm run bench:assets`: upload and download throughput of object storage for 1 MB, 50 MB and 500 MB
 * files, the node's peak RSS during each upload and download, SHA-256 over the same bytes as the ceiling of an
 * upload (which hashes every byte once, and does everything else besides) in wall time and in CPU time
 * (the node's own, from /proc: fair on a shared machine), and reading the same bytes from a file as the
 * yardstick of a download. The node runs as a child process on
 * a loopback port with a temp data dir, so its RSS is its own; everything stops by itself.
 *
 *   npm run bench:assets [-- --sizes=1,50,500]   (sizes in MB)
 *   npm run bench:assets -- --profile=DIR          (+ the node's --cpu-prof, written to DIR on exit;
 *                                                    summarise with `npm run bench:posbus -- --summarize-profile FILE`)
 *
 * Downloads are judged in wall time (the goal's "as fast as reading the file") and in CPU time: the node's
 * CPU per downloaded MB against the CPU a read stream spends on the same bytes from the page cache. Two
 * more yardsticks say what HTTP on loopback allows, for both directions: a plain node:http server in a
 * child process that only hashes the same upload's body and sends the same file through a read stream, to
 * the same client; and curl as the client of the node (leaner than node:http; skipped without curl).
 * Results come as two tables, uploads and downloads. The store's own ingest without HTTP: `bench:ingest`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopbackNodeArgs, NODE, ROOT, RUNTIME_FLAGS } from './bench-node.ts';
import { markdownTable } from './markdown-table.ts';

const MB = 1_000_000;
const CHUNK = 1 << 20;
const arg = process.argv.find((a) => a.startsWith('--sizes='));
const SIZES = (arg ? arg.slice(8).split(',').map(Number) : [1, 50, 500]).map((n) => n * MB);
const PROFILE_DIR = process.argv.find((a) => a.startsWith('--profile='))?.slice(10);
/** Set in the child that serves a plain file (the HTTP yardstick): this script, run with the file's path. */
const SERVE_FILE = process.argv.find((a) => a.startsWith('--serve-file='))?.slice(13);
/** Extra V8/Node flags for the node (e.g. `--node-flags=--trace-gc`), its stdout then copied to ours. */
const NODE_FLAGS =
  process.argv
    .find((a) => a.startsWith('--node-flags='))
    ?.slice(13)
    .split(' ')
    .filter(Boolean) ?? [];

/** Deterministic incompressible bytes (AES-CTR over zeros), generated as they are sent: nothing is held. */
function* content(size: number, seed: number): Generator<Buffer> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(CHUNK);
  for (let sent = 0; sent < size; sent += CHUNK) {
    const chunk = cipher.update(zeros.subarray(0, Math.min(CHUNK, size - sent)));
    if (sent === 0) chunk.write('glTF', 0, 'latin1'); // a "model": the store sniffs the magic only
    yield chunk;
  }
}

/**
 * SHA-256 over `size` bytes (its speed does not depend on the bytes, so one chunk is reused): MB per
 * second of wall time and MB per CPU-second (the fair measure on a shared machine).
 */
function sha256Speed(size: number, seed: number): { wall: number; cpu: number } {
  const chunk = content(CHUNK, seed).next().value as Buffer;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const hash = createHash('sha256');
  for (let done = 0; done < size; done += CHUNK) hash.update(chunk.subarray(0, Math.min(CHUNK, size - done)));
  hash.digest();
  const cpu = process.cpuUsage(cpu0);
  return {
    wall: size / MB / ((performance.now() - start) / 1000),
    cpu: size / MB / ((cpu.user + cpu.system) / 1e6),
  };
}

/** The same bytes as an upload of `seed` in a file of their own, in the node's file system. */
async function sameBytesInFile(dir: string, size: number, seed: number): Promise<string> {
  const file = join(dir, `plain-${seed}`);
  const out = createWriteStream(file);
  for (const chunk of content(size, seed)) if (!out.write(chunk)) await once(out, 'drain');
  await new Promise((resolve) => out.end(resolve));
  return file;
}

/** The file read back with a read stream (from the page cache, as the node's fresh blocks are). */
async function readSpeed(file: string): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) bytes += chunk.length;
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { wall: bytes / MB / (ms / 1000), cpu: bytes / MB / ((cpu.user + cpu.system) / 1e6) };
}

interface Speed {
  /** MB per second of wall time. */
  wall: number;
  /** MB per CPU-second of the server process. */
  cpu: number;
}

/**
 * What HTTP on loopback allows at all, with the same client as the node's: a plain node:http server in a
 * child process that takes the same multipart upload and only hashes every byte of the body (SHA-256, the
 * one thing an upload cannot skip), and sends the file back through a read stream piped to the socket.
 */
async function plainHttpSpeeds(
  file: string,
  size: number,
  seed: number,
): Promise<{ up: Speed; down: Speed }> {
  const child = spawn(process.execPath, [process.argv[1], `--serve-file=${file}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    // Its port, or its death before it listens (then the bench fails instead of waiting forever).
    const port = await Promise.race([
      once(child.stdout as NodeJS.ReadableStream, 'data').then(([line]) => String(line).trim()),
      once(child, 'exit').then(([code]) => {
        throw new Error(`plain server exited (${code}) before listening`);
      }),
    ]);
    const url = `http://127.0.0.1:${port}`;
    const pid = child.pid as number;
    let cpuBefore = cpuOf(pid);
    const up = await upload(url, '', size, seed);
    const upCpu = cpuOf(pid) - cpuBefore;
    cpuBefore = cpuOf(pid);
    const got = await download(`${url}/`);
    const downCpu = cpuOf(pid) - cpuBefore;
    if (got.bytes !== size) throw new Error(`plain server sent ${got.bytes} of ${size} bytes`);
    return {
      up: { wall: size / MB / (up.ms / 1000), cpu: size / MB / Math.max(upCpu, 0.01) },
      down: { wall: size / MB / (got.ms / 1000), cpu: size / MB / Math.max(downCpu, 0.01) },
    };
  } finally {
    child.kill('SIGTERM');
  }
}

/**
 * The plain server (in the child): a GET gets the file through a read stream piped to the socket; a POST
 * has its whole body hashed and is answered with the digest as its `cid`.
 */
function servePlainFile(file: string): void {
  const size = statSync(file).size;
  const server = createServer((req, res) => {
    if (req.method === 'POST') {
      const hash = createHash('sha256');
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      req.on('end', () => res.end(JSON.stringify({ cid: hash.digest('hex') })));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    createReadStream(file, { highWaterMark: 262_144 }).pipe(res);
  });
  server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
}

/** The download taken by curl (its own timing): MB/s, or undefined without curl. */
function curlSpeed(url: string, size: number): number | undefined {
  const run = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', url], {
    encoding: 'utf8',
  });
  // Without curl the column says so; a curl that fails is a failed bench, as a failed upload by curl is.
  if (run.error) return undefined;
  if (run.status !== 0) throw new Error(`curl download: exit ${run.status}`);
  const [bytes, seconds] = run.stdout.trim().split(' ').map(Number);
  if (bytes !== size) throw new Error(`curl downloaded ${bytes} of ${size} bytes`);
  return size / MB / seconds;
}

/** `file` uploaded by curl as a multipart form (its own timing): MB/s, or undefined without curl. */
function curlUploadSpeed(url: string, token: string, file: string, size: number): number | undefined {
  const run = spawnSync(
    'curl',
    // No `Expect: 100-continue` round trip before the body: the node:http client does not wait either.
    ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-H', 'Expect:'].concat([
      '-H',
      `authorization: Bearer ${token}`,
      '-F',
      `file=@${file};filename=bench.glb`,
      url,
    ]),
    { encoding: 'utf8' },
  );
  if (run.error) return undefined;
  const [status, seconds] = run.stdout.trim().split(' ').map(Number);
  if (run.status !== 0 || status >= 300) throw new Error(`curl upload: exit ${run.status}, HTTP ${status}`);
  return size / MB / seconds;
}

/** CPU time the node process has used so far (user + system), from /proc, in seconds. */
const cpuOf = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
};
/** The kernel's part of it (stime): socket and page-cache copies, file creation. */
const sysOf = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[12]) / 100;

/**
 * The node's resident memory: private (anonymous: heap, buffers, LevelDB memtables) and file-backed
 * (LevelDB maps its table files; those pages are clean and the kernel drops them under pressure).
 */
const rssOf = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { anon: kB('RssAnon'), file: kB('RssFile') };
};
const MiB = (n: number) => (n / 2 ** 20).toFixed(0);

async function startNode(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    NODE,
    [
      ...RUNTIME_FLAGS,
      ...(PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []),
      ...NODE_FLAGS,
      'bin/odyssey-node.js',
      ...loopbackNodeArgs(dir, [
        ...['--asset-max-model-bytes', String(2 ** 31)],
        // The bench uploads as a guest: room for every size it runs.
        ...['--guest-upload-quota-mb', String(2 ** 20)],
      ]),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('node did not start')), 120_000); // slow on a loaded machine
    child.stdout?.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('odyssey node started'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).url);
      }
    });
    child.on('exit', () => reject(new Error('node exited')));
    child.on('error', reject);
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  if (NODE_FLAGS.length) child.stdout?.pipe(process.stderr);
  else child.stdout?.resume();
  return { child, url };
}

/** A streamed multipart upload with backpressure; resolves with the CID and the elapsed time. */
function upload(
  url: string,
  token: string,
  size: number,
  seed: number,
): Promise<{ cid: string; ms: number }> {
  const boundary = `bench-${seed}`;
  const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="bench.glb"\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request(`${url}/api/v4/assets`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(Buffer.byteLength(head) + size + Buffer.byteLength(tail)),
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300) return reject(new Error(`upload: ${res.statusCode} ${body}`));
        resolve({ cid: JSON.parse(body).cid, ms: performance.now() - start });
      });
    });
    const chunks = content(size, seed);
    req.write(head);
    const pump = () => {
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (!req.write(next.value)) return void req.once('drain', pump);
      }
      req.end(tail);
    };
    pump();
  });
}

/** A download with node:http (leaner than fetch on the client side, which shares the machine). */
function download(url: string): Promise<{ bytes: number; ms: number; firstByteMs: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      if ((res.statusCode ?? 0) !== 200) {
        res.resume();
        return reject(new Error(`download: ${res.statusCode}`));
      }
      let bytes = 0;
      let firstByteMs = 0;
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - start;
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ bytes, ms: performance.now() - start, firstByteMs }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const UPLOAD_HEADER = [
  'file',
  'upload',
  'SHA-256',
  'upload / SHA-256',
  'plain server: receive + hash (its CPU)',
  'upload / plain server',
  'upload with curl (of SHA-256)',
  'node CPU per upload',
  'SHA-256 per CPU',
  'CPU ratio',
  'CPU of plain server / node',
];
const DOWNLOAD_HEADER = [
  'file',
  'download',
  'file read',
  'download / read',
  'first byte',
  'node CPU per download',
  'file read per CPU',
  'download CPU ratio',
  'plain server (its CPU)',
  'download / plain server',
  'download with curl (of read)',
  'node private RSS (peak)',
  'node file-backed RSS (peak)',
];
const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;
const mbs = (n: number) => `${n.toFixed(0)} MB/s`;
const mbcpu = (n: number) => `${n.toFixed(0)} MB/cpu-s`;

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'odyssey-bench-assets-'));
  const { child, url } = await startNode(dir).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const pid = child.pid as number;
  const uploads: string[][] = [];
  const downloads: string[][] = [];
  try {
    const guest = (await (
      await fetch(`${url}/api/v4/auth/guest-token`, { method: 'POST', body: '{}' })
    ).json()) as {
      token: string;
    };
    for (const [i, size] of SIZES.entries()) {
      const baseline = rssOf(pid);
      const peak = { ...baseline };
      const poll = setInterval(() => {
        if (child.exitCode !== null) return;
        const now = rssOf(pid);
        peak.anon = Math.max(peak.anon, now.anon);
        peak.file = Math.max(peak.file, now.file);
      }, 20);
      const cpuBefore = cpuOf(pid);
      const sysBefore = sysOf(pid);
      // The peak covers the upload and the download (both should be flat in the file's size).
      const up = await upload(url, guest.token, size, i + 1).catch((e) => {
        clearInterval(poll);
        throw e;
      });
      const upCpu = cpuOf(pid) - cpuBefore;
      const upSys = sysOf(pid) - sysBefore;
      const cpuBeforeDown = cpuOf(pid);
      const down = await download(`${url}/api/v4/assets/${up.cid}`);
      const downCpu = cpuOf(pid) - cpuBeforeDown;
      clearInterval(poll);
      if (down.bytes !== size) throw new Error(`downloaded ${down.bytes} of ${size} bytes`);
      const curlDown = curlSpeed(`${url}/api/v4/assets/${up.cid}`, size);
      const upMBs = size / MB / (up.ms / 1000);
      const upCpuMBs = size / MB / Math.max(upCpu, 0.01);
      const downMBs = size / MB / (down.ms / 1000);
      const downCpuMBs = size / MB / Math.max(downCpu, 0.01);
      const ceiling = sha256Speed(size, i + 1);
      const file = await sameBytesInFile(dir, size, i + 1);
      const read = await readSpeed(file);
      const plain = await plainHttpSpeeds(file, size, i + 1);
      await rm(file);
      // New bytes for curl's upload (the same ones would find every block stored already).
      const fresh = await sameBytesInFile(dir, size, 100 + i);
      const curlUp = curlUploadSpeed(`${url}/api/v4/assets`, guest.token, fresh, size);
      await rm(fresh);
      uploads.push([
        `${size / MB} MB`,
        mbs(upMBs),
        mbs(ceiling.wall),
        pct(upMBs, ceiling.wall),
        `${mbs(plain.up.wall)} (${mbcpu(plain.up.cpu)})`,
        pct(upMBs, plain.up.wall),
        curlUp === undefined ? '–' : `${mbs(curlUp)} (${pct(curlUp, ceiling.wall)})`,
        `${mbcpu(upCpuMBs)} (${pct(upSys, Math.max(upCpu, 0.01))} kernel)`,
        mbcpu(ceiling.cpu),
        pct(upCpuMBs, ceiling.cpu),
        pct(upCpuMBs, plain.up.cpu),
      ]);
      downloads.push([
        `${size / MB} MB`,
        mbs(downMBs),
        mbs(read.wall),
        pct(downMBs, read.wall),
        `${down.firstByteMs.toFixed(0)} ms`,
        mbcpu(downCpuMBs),
        mbcpu(read.cpu),
        pct(downCpuMBs, read.cpu),
        `${mbs(plain.down.wall)} (${mbcpu(plain.down.cpu)})`,
        pct(downMBs, plain.down.wall),
        curlDown === undefined ? '–' : `${mbs(curlDown)} (${pct(curlDown, read.wall)})`,
        `${MiB(baseline.anon)} → ${MiB(peak.anon)} MiB`,
        `${MiB(baseline.file)} → ${MiB(peak.file)} MiB`,
      ]);
      console.error(`${size / MB} MB done`);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `Uploads\n\n${markdownTable(UPLOAD_HEADER, uploads)}\n\nDownloads\n\n${markdownTable(DOWNLOAD_HEADER, downloads)}`,
  );
}

if (SERVE_FILE) servePlainFile(SERVE_FILE);
else await main();

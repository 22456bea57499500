/**
 * `npm run bench:ingest`: the object store's own ingest, in process and without HTTP: a file's bytes, in
 * the 64 KiB pieces a socket delivers, imported into UnixFS on the file blockstore exactly as an upload is
 * (storage/assets/leaf-import.ts: leaves hashed and written one file each), against SHA-256 over the same
 * pieces. CPU is the whole process's (the libuv threads' block writes and the kernel's page-cache work
 * included) and so is fair on a shared machine; wall time is given beside it.
 *
 * The block files go where `--dir` says (default: the system temp dir). Pointing it at a memory file
 * system (`--dir=/dev/shm`) shows the store's cost without the disk file system's, whose kernel time on
 * some virtual machines swings by 10× with the state of the page cache (docs/benchmarks.md).
 *
 *   npm run bench:ingest [-- --size=200 --runs=3 --dir=/dev/shm]   (size in MB)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importByteStream } from 'ipfs-unixfs-importer';
import { FileBlockstore } from '../storage/assets/file-blockstore.ts';
import { CHUNK_SIZE, IMPORT_OPTIONS } from '../storage/assets/ipfs.ts';
import { leafPipeline } from '../storage/assets/leaf-import.ts';
import { markdownTable } from './markdown-table.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: tmpdir() },
  },
});
const MB = 1_000_000;
const SIZE = Number(values.size) * MB;
const PIECE = 64 * 1024;

interface Cost {
  cpu: number;
  kernel: number;
  wall: number;
}

async function measure(work: () => unknown): Promise<Cost> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await work();
  const cpu = process.cpuUsage(cpu0);
  return {
    cpu: (cpu.user + cpu.system) / 1e6,
    kernel: cpu.system / 1e6,
    wall: (performance.now() - start) / 1000,
  };
}

function* pieces(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += PIECE) yield bytes.subarray(at, at + PIECE);
}

async function* arriving(bytes: Buffer): AsyncGenerator<Buffer> {
  yield* pieces(bytes);
}

const HEAD = [
  'run',
  'SHA-256 (CPU)',
  'ingest (CPU)',
  'ingest / SHA-256 (CPU)',
  'SHA-256 (wall)',
  'ingest (wall)',
  'ingest / SHA-256 (wall)',
];
const rows: string[][] = [];
// One store for every run, emptied only at the end, as a node's store lives: deleting thousands of files
// between runs would make ext4 skip their recently freed inodes on the next creates, a cost of the churn and
// not of ingest (seen with perf: `recently_deleted` under `ext4_create`). The first run also makes the
// store's shard directories.
const dir = await mkdtemp(join(values.dir, 'odyssey-bench-ingest-'));
try {
  const blocks = new FileBlockstore(dir);
  await blocks.open();
  for (let run = 1; run <= Number(values.runs); run++) {
    // Fresh bytes each run: a block already on disk would be rewritten, not created.
    const bytes = randomBytes(SIZE);
    const sha = await measure(() => {
      const hash = createHash('sha256');
      for (const piece of pieces(bytes)) hash.update(piece);
      hash.digest();
    });
    const store = await measure(() =>
      importByteStream(arriving(bytes), blocks, { ...IMPORT_OPTIONS, ...leafPipeline(CHUNK_SIZE, blocks) }),
    );
    const speed = (cost: Cost, of: 'cpu' | 'wall') => (SIZE / MB / cost[of]).toFixed(0);
    const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;
    rows.push(
      [
        run,
        `${speed(sha, 'cpu')} MB/cpu-s`,
        `${speed(store, 'cpu')} MB/cpu-s (${pct(store.kernel, store.cpu)} kernel)`,
        pct(sha.cpu, store.cpu),
        `${speed(sha, 'wall')} MB/s`,
        `${speed(store, 'wall')} MB/s`,
        pct(sha.wall, store.wall),
      ].map(String),
    );
    console.error(rows.at(-1)?.join(' | '));
  }
  await blocks.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(`${values.size} MB in ${PIECE / 1024} KiB pieces, blocks under ${values.dir}\n`);
console.log(markdownTable(HEAD, rows));

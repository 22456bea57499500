/**
 * `npm run bench:multipart`: the CPU our multipart parser (api/multipart-parser.ts) spends on one upload
 * body, in process, against SHA-256 over the same bytes (what every upload pays anyway). The body is a
 * file part of incompressible bytes cut into the chunks a socket delivers; runs alternate, and each
 * figure is process CPU time (user + system), the fair measure on a shared machine.
 *
 *   npm run bench:multipart [-- --size=200 --chunk=64 --runs=5]   (MB, KiB)
 */
import { createCipheriv, createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MULTIPART_LIMITS } from '../api/multipart.ts';
import { MultipartParser } from '../api/multipart-parser.ts';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '200' },
    chunk: { type: 'string', default: '64' },
    runs: { type: 'string', default: '5' },
  },
});
const MB = 1_000_000;
const size = Number(values.size) * MB;
const chunkSize = Number(values.chunk) * 1024;
const runs = Number(values.runs);
// As undici's FormData writes it: a boundary of the usual length.
const boundary = '----formdata-undici-028374659102';

const data = createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16, 0)).update(
  Buffer.alloc(size),
);
const body = Buffer.concat([
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.glb"\r\n\r\n`),
  data,
  Buffer.from(`\r\n--${boundary}--\r\n`),
]);
const chunks: Buffer[] = [];
for (let at = 0; at < body.length; at += chunkSize) chunks.push(body.subarray(at, at + chunkSize));

function cpuSeconds(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

function parse(): void {
  const parser = new MultipartParser(boundary, MULTIPART_LIMITS);
  let bytes = 0;
  for (const chunk of chunks) {
    for (const event of parser.push(chunk)) if (event.kind === 'data') bytes += event.bytes.length;
  }
  parser.end();
  if (bytes !== size) throw new Error(`parsed ${bytes} bytes of ${size}`);
}

function sha256(): void {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  hash.digest();
}

const parseTimes: number[] = [];
const hashTimes: number[] = [];
for (let run = 0; run < runs; run++) {
  parseTimes.push(cpuSeconds(parse));
  hashTimes.push(cpuSeconds(sha256));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const range = (xs: number[]) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)} s`;
const mbs = (s: number) => `${Math.round(size / MB / s).toLocaleString('en')} MB/cpu-s`;
console.log(`${size / MB} MB file part in ${chunkSize / 1024} KiB chunks, ${runs} runs each (CPU time)\n`);
console.log("| work | CPU (range) | median speed | CPU / SHA-256's |");
console.log('| --- | ---: | ---: | ---: |');
console.log(`| SHA-256 | ${range(hashTimes)} | ${mbs(median(hashTimes))} | 100 % |`);
console.log(
  `| multipart parse | ${range(parseTimes)} | ${mbs(median(parseTimes))} | ${Math.round((100 * median(parseTimes)) / median(hashTimes))} % |`,
);

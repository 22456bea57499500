/**
 * Local file reads into pooled buffers, for downloads written straight to a socket. Reading every leaf
 * into a fresh 256 KiB buffer made half of a download's CPU garbage collection (V8 runs a full collection
 * for every ~64 MB allocated outside its heap). Here a download borrows a buffer per piece and gives it
 * back once the socket has written it (the writer calls `release` from its write callback), so a
 * download of any size cycles through the same few buffers.
 *
 * A lease that is never released (a writer that lost track of it) costs nothing but the buffer: it is
 * garbage like any other, and the pool allocates a new one. `stats` lets tests check that every lease of
 * a cut-off download came back.
 */
import { close, open, read } from 'node:fs';
import { NotFoundError } from 'interface-store';
import type { CID } from 'multiformats/cid';
import type { FileBlockstore } from './file-blockstore.ts';
import { localFilePieces } from './local-file.ts';

/** Bytes lent to a writer, to be given back (exactly once) when the writer is done with them. */
export interface Lease {
  readonly bytes: Uint8Array;
  release(): void;
}

export class BufferPool {
  readonly bufferSize: number;
  /** Free buffers kept beyond this are left to the GC: a burst of downloads does not pin its peak. */
  private readonly maxFree: number;
  private readonly free: Buffer[] = [];
  private leased = 0;
  private lentEver = 0;

  constructor(bufferSize: number, maxFree: number) {
    this.bufferSize = bufferSize;
    this.maxFree = maxFree;
  }

  /**
   * A buffer of `bufferSize` bytes to fill, and `lease(n)`, which lends its first n bytes out: the
   * buffer comes back to the pool when that lease is released.
   */
  lend(): { buffer: Buffer; lease: (length: number) => Lease } {
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferSize);
    this.leased++;
    this.lentEver++;
    let released = false;
    const lease = (length: number): Lease => ({
      bytes: buffer.subarray(0, length),
      release: () => {
        if (released) return;
        released = true;
        this.leased--;
        if (this.free.length < this.maxFree) this.free.push(buffer);
      },
    });
    return { buffer, lease };
  }

  /** Buffers lent and not given back, buffers waiting to be lent, and leases made so far. */
  get stats(): { leased: number; free: number; lent: number } {
    return { leased: this.leased, free: this.free.length, lent: this.lentEver };
  }
}

/**
 * [offset, offset + length) of the file at `root` from local block files, as leases of `pool`'s buffers
 * (inline bytes as leases that release nothing). A leaf's file is opened, read and closed before its last
 * (usually only) lease is yielded, so a consumer that stops early leaves no descriptor open; one that
 * stops inside a leaf larger than a buffer must `return()` the iterator (which closes it).
 */
export async function* readLocalFilePooled(
  blocks: FileBlockstore,
  root: CID,
  offset: number,
  length: number,
  pool: BufferPool,
): AsyncGenerator<Lease> {
  for await (const piece of localFilePieces(blocks, root, offset, length)) {
    if ('bytes' in piece) {
      yield { bytes: piece.bytes, release: () => {} };
      continue;
    }
    const fd = await openFile(blocks.pathOf(piece.leaf), piece.leaf);
    let holding = true;
    try {
      for (let at = piece.from; ; ) {
        const want = Math.min(pool.bufferSize, piece.to - at);
        const { buffer, lease } = pool.lend();
        let filled: number;
        try {
          filled = await readInto(fd, buffer, want, at);
        } catch (error) {
          lease(0).release();
          throw error;
        }
        at += filled;
        // Short of `want`: the leaf's file ends here (a blocksize larger than the block), and the caller
        // sees fewer bytes than announced.
        const last = filled < want || at >= piece.to;
        if (last) {
          holding = false;
          await closeFile(fd);
        }
        const chunk = lease(filled);
        if (filled > 0) yield chunk;
        else chunk.release();
        if (last) break;
      }
    } finally {
      if (holding) await closeFile(fd);
    }
  }
}

function openFile(path: string, cid: CID): Promise<number> {
  return new Promise((resolve, reject) =>
    open(path, 'r', (error, fd) => {
      if (!error) return resolve(fd);
      reject(error.code === 'ENOENT' ? new NotFoundError(`no block ${cid}`) : error);
    }),
  );
}

function closeFile(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/** Reads up to `want` bytes at `position` into the start of `buffer`; fewer only at the file's end. */
function readInto(fd: number, buffer: Buffer, want: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const step = (filled: number) =>
      read(fd, buffer, filled, want - filled, position + filled, (error, n) => {
        if (error) return reject(error);
        if (n === 0 || filled + n === want) return resolve(filled + n);
        step(filled + n);
      });
    if (want === 0) resolve(0);
    else step(0);
  });
}

/**
 * The two per-leaf steps of a UnixFS import, done leaner than ipfs-unixfs-importer's defaults, which
 * were most of the CPU of an upload after the bytes themselves: the fixed-size chunker gathered each leaf
 * in a Uint8ArrayList and copied it out (and once more for a list spanning chunks), and every leaf went
 * through multiformats' async SHA-256 and Helia's blockstore wrappers (a lock, a `has` per put, a bitswap
 * notification). Here a leaf is filled once, straight from the arriving chunks, hashed with node:crypto
 * and written to the file blockstore as it is. The importer still builds the DAG above the leaves, so the
 * CIDs are exactly those of its defaults (test/assets/leaf-import.test.ts compares them).
 *
 * Only raw leaves (our IMPORT_OPTIONS): a leaf is its bytes, nothing to wrap.
 */
import { createHash } from 'node:crypto';
import type { BufferImporter } from 'ipfs-unixfs-importer';
import type { Chunker } from 'ipfs-unixfs-importer/chunker';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import * as Digest from 'multiformats/hashes/digest';
import { sha256 } from 'multiformats/hashes/sha2';

/** Where a leaf goes: the file blockstore's `put`, which holds no reference to the bytes once settled. */
export interface LeafSink {
  put(cid: CID, bytes: Uint8Array): Promise<CID>;
}

/**
 * Leaf buffers handed back once their block is written, so that an upload reuses a dozen buffers instead
 * of allocating a fresh 256 KiB one per leaf: fresh buffers cost page faults and, being memory outside
 * V8's heap, full garbage collections every few dozen MB (measured: half the CPU of an import).
 */
class LeafPool {
  private readonly free: Buffer[] = [];
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Only once nothing refers to the bytes any more (the block is written). */
  give(buffer: Uint8Array): void {
    if (buffer.byteLength === this.size && buffer.byteOffset === 0 && this.free.length < POOL_MAX) {
      this.free.push(buffer as Buffer);
    }
  }
}

/** More than the importer keeps in flight (its blockWriteConcurrency, 10 by default, plus the one filling). */
const POOL_MAX = 16;

/**
 * The chunker and buffer importer of one import, sharing a pool of leaf buffers: a leaf's buffer goes
 * back to the pool when its block is written. The importer keeps no leaf bytes after that (with raw
 * leaves and no mtime/mode it only keeps the CID and size), and `block` is handed on empty to make sure.
 */
export function leafPipeline(
  chunkSize: number,
  sink: LeafSink,
): { chunker: Chunker; bufferImporter: BufferImporter } {
  const pool = new LeafPool(chunkSize);
  return { chunker: leafChunker(chunkSize, pool), bufferImporter: rawLeafImporter(sink, pool) };
}

/**
 * Cuts the stream into `chunkSize` leaves as ipfs-unixfs-importer's fixedSize does (the last one shorter;
 * one empty leaf for an empty stream), copying each byte once into a leaf of its own.
 */
function leafChunker(chunkSize: number, pool: LeafPool): Chunker {
  return async function* chunk(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let leaf = pool.take();
    let filled = 0;
    let emitted = false;
    for await (const part of source) {
      let at = 0;
      while (at < part.length) {
        const n = Math.min(chunkSize - filled, part.length - at);
        leaf.set(n === part.length && at === 0 ? part : part.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === chunkSize) {
          yield leaf;
          emitted = true;
          leaf = pool.take();
          filled = 0;
        }
      }
    }
    if (!emitted || filled > 0) yield leaf.subarray(0, filled);
  };
}

/** SHA-256 with node:crypto (native, synchronous: no promise per leaf), as a CIDv1 raw. */
export function rawLeafCid(bytes: Uint8Array): CID {
  const digest = createHash('sha256').update(bytes).digest();
  return CID.createV1(raw.code, Digest.create(sha256.code, digest));
}

/** Raw leaves hashed with node:crypto and put straight into `sink`; the importer awaits each put. */
function rawLeafImporter(sink: LeafSink, pool: LeafPool): BufferImporter {
  return async function* importLeaves(file) {
    for await (const block of file.content) {
      yield async () => {
        const cid = await sink.put(rawLeafCid(block), block);
        pool.give(block);
        return { cid, size: BigInt(block.length), block: EMPTY };
      };
    }
  };
}

const EMPTY = new Uint8Array(0);

/**
 * The lean import path (storage/assets/leaf-import.ts) must give the CIDs ipfs-unixfs-importer's defaults
 * give for the same bytes and options, whatever the sizes and however the bytes arrive; and the direct
 * reader (storage/assets/local-file.ts) must give back any range of those bytes. Real file blockstore in a
 * temp dir; the reference import goes into blockstore-core's memory blockstore.
 */
import { createCipheriv } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBlockstore } from 'blockstore-core';
import { importByteStream } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBlockstore } from '../../storage/assets/file-blockstore.ts';
import { CHUNK_SIZE, IMPORT_OPTIONS } from '../../storage/assets/ipfs.ts';
import { leafPipeline, rawLeafCid } from '../../storage/assets/leaf-import.ts';
import { parseFileData, readLocalFile } from '../../storage/assets/local-file.ts';

let dir: string;
let blocks: FileBlockstore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odyssey-leaf-import-'));
  blocks = new FileBlockstore(dir);
  await blocks.open();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Deterministic incompressible bytes: AES-CTR over zeros. */
function bytesOf(size: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** The bytes cut into pieces of varying sizes (as a socket would deliver them). */
async function* pieces(data: Buffer, seed: number): AsyncGenerator<Uint8Array> {
  let at = 0;
  let n = seed;
  while (at < data.length) {
    n = (n * 1103515245 + 12345) % 2 ** 31;
    const len = 1 + (n % 100_000);
    yield data.subarray(at, at + len);
    at += len;
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

describe('lean import', () => {
  it('gives the reference importer’s CIDs at the real chunk size', async () => {
    for (const size of [1, 1000, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12_345]) {
      const data = bytesOf(size, size);
      const reference = await importByteStream(pieces(data, 1), new MemoryBlockstore(), IMPORT_OPTIONS);
      const lean = await importByteStream(pieces(data, 2), blocks, {
        ...IMPORT_OPTIONS,
        ...leafPipeline(CHUNK_SIZE, blocks),
      });
      expect(lean.cid.toString(), `size ${size}`).toBe(reference.cid.toString());
      // Buffer.equals: vitest's deep equality takes seconds over a megabyte.
      expect((await collect(readLocalFile(blocks, lean.cid, 0, size))).equals(data), `size ${size}`).toBe(
        true,
      );
    }
  });

  it('gives the same CIDs for deep trees (small chunks, three links per node) and reads every range back', async () => {
    const options = { ...IMPORT_OPTIONS, layout: balanced({ maxChildrenPerNode: 3 }) };
    for (const size of [1, 15, 16, 17, 47, 48, 49, 143, 144, 145, 433, 1000]) {
      const data = bytesOf(size, 7 * size);
      const reference = await importByteStream(pieces(data, 3), new MemoryBlockstore(), {
        ...options,
        chunker: fixedSize({ chunkSize: 16 }),
      });
      const lean = await importByteStream(pieces(data, 4), blocks, {
        ...options,
        ...leafPipeline(16, blocks),
      });
      expect(lean.cid.toString(), `size ${size}`).toBe(reference.cid.toString());
      expect(await collect(readLocalFile(blocks, lean.cid, 0, Number.POSITIVE_INFINITY))).toEqual(data);
      for (const [offset, length] of [
        [0, 1],
        [5, 20],
        [15, 2],
        [size - 1, 1],
        [Math.floor(size / 3), Math.ceil(size / 2)],
      ]) {
        if (offset < 0 || offset >= size) continue;
        const got = await collect(readLocalFile(blocks, lean.cid, offset, length));
        expect(got, `size ${size} range ${offset}+${length}`).toEqual(data.subarray(offset, offset + length));
      }
    }
  });

  it('fails a read whose block is missing instead of yielding short', async () => {
    const data = bytesOf(100, 99);
    const { cid } = await importByteStream(pieces(data, 5), blocks, {
      ...IMPORT_OPTIONS,
      layout: balanced({ maxChildrenPerNode: 3 }),
      ...leafPipeline(16, blocks),
    });
    // The first 96 bytes come out, then the missing last leaf fails the read.
    await blocks.delete(rawLeafCid(data.subarray(96, 100)));
    await expect(collect(readLocalFile(blocks, cid, 0, 100))).rejects.toThrow(/no block/);
    expect(await collect(readLocalFile(blocks, cid, 0, 96))).toEqual(data.subarray(0, 96));
  });

  it('refuses UnixFS data that is truncated, overlong or not a file, with a clear error', () => {
    const cid = rawLeafCid(new Uint8Array([1]));
    // Type = file, blocksizes 3 and 300 (unpacked), as the importer writes them.
    expect(parseFileData(Uint8Array.from([0x08, 0x02, 0x20, 0x03, 0x20, 0xac, 0x02]), cid)).toEqual({
      blockSizes: [3, 300],
    });
    // The same sizes packed, and inline data.
    expect(
      parseFileData(Uint8Array.from([0x08, 0x02, 0x12, 0x01, 0x61, 0x22, 0x03, 0x03, 0xac, 0x02]), cid),
    ).toEqual({ data: Uint8Array.from([0x61]), blockSizes: [3, 300] });
    expect(() => parseFileData(Uint8Array.from([0x08, 0x02, 0x20, 0xac]), cid)).toThrow(/truncated/);
    expect(() => parseFileData(Uint8Array.from([0x08, 0x02, 0x12, 0x09, 0x61]), cid)).toThrow(/truncated/);
    expect(() => parseFileData(Uint8Array.from([0x08, 0x01]), cid)).toThrow(/not a UnixFS file/);
    expect(() => parseFileData(Uint8Array.from([0x08, 0x02, 0x23]), cid)).toThrow(/bad UnixFS data/);
    expect(() => parseFileData(new Uint8Array([0x20, ...new Array(10).fill(0xff), 0x01]), cid)).toThrow(
      /overlong/,
    );
    expect(() => parseFileData(undefined, cid)).toThrow(/without UnixFS data/);
  });
});

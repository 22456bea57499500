/**
 * A blockstore with one file per block, laid out as Kubo's flatfs: `<dir>/<XY>/<KEY>.data`, where KEY is
 * the block's multihash in upper-case base32 (no padding) and XY its next-to-last two characters, which
 * spreads blocks over at most 1,024 directories. Like LevelDB's blockstore it keys by multihash (the same
 * bytes under two codecs are one block) and hands back raw-codec CIDs from `getAll`.
 *
 * Why not LevelDB: a 256 KiB block is a poor LevelDB value (compaction rewrites every byte several times;
 * ingest ran at 4-5 % of SHA-256 speed). A file is written once and read with one `readFile`.
 *
 * Why our own rather than blockstore-fs (same layout): about 150 lines and no dependency to add; each
 * shard directory is made once instead of a `mkdir -p` per block; a block is written to a temp file and
 * renamed into place, so a crash never leaves a half-written block under its real name. Like LevelDB's
 * default (and Kubo's flatfs without `sync`) it does not fsync each block.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AbortOptions } from '@libp2p/interface';
import type { Blockstore, InputPair, Pair } from 'interface-blockstore';
import { NotFoundError } from 'interface-store';
import { base32upper } from 'multiformats/bases/base32';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import * as Digest from 'multiformats/hashes/digest';

const EXTENSION = '.data';
const TMP = '.tmp';

export class FileBlockstore implements Blockstore {
  readonly dir: string;
  /** Shard directories known to exist (made at most once each). */
  private readonly shards = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
  }

  async open(): Promise<void> {
    // Temp files of writes a crash interrupted are garbage.
    await rm(join(this.dir, TMP), { recursive: true, force: true });
    await mkdir(join(this.dir, TMP), { recursive: true });
    await writeFile(join(this.dir, 'SHARDING'), '/repo/flatfs/shard/v1/next-to-last/2\n');
  }

  async close(): Promise<void> {}

  private locate(cid: CID): { shard: string; file: string } {
    const key = base32upper.baseEncode(cid.multihash.bytes);
    const shard = key.slice(-3, -1);
    return { shard, file: join(this.dir, shard, key + EXTENSION) };
  }

  async has(cid: CID): Promise<boolean> {
    try {
      await stat(this.locate(cid).file);
      return true;
    } catch {
      return false;
    }
  }

  async put(cid: CID, bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> {
    const data = bytes instanceof Uint8Array ? bytes : await collect(bytes);
    const { shard, file } = this.locate(cid);
    if (!this.shards.has(shard)) {
      await mkdir(join(this.dir, shard), { recursive: true });
      this.shards.add(shard);
    }
    const tmp = join(this.dir, TMP, randomBytes(8).toString('hex'));
    try {
      await writeFile(tmp, data);
      await rename(tmp, file);
    } catch (error) {
      await unlink(tmp).catch(() => {});
      throw error;
    }
    return cid;
  }

  async *putMany(source: Iterable<InputPair> | AsyncIterable<InputPair>): AsyncGenerator<CID> {
    for await (const { cid, bytes } of source) yield await this.put(cid, bytes);
  }

  async *get(cid: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    yield await this.read(cid, options);
  }

  /** The whole block in one buffer. */
  async read(cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    try {
      return await readFile(this.locate(cid).file, { signal: options?.signal });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no block ${cid}`);
      throw error;
    }
  }

  async *getMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const cid of source) {
      const block = await this.read(cid, options);
      yield { cid, bytes: once(block) };
    }
  }

  async delete(cid: CID): Promise<void> {
    try {
      await unlink(this.locate(cid).file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async *deleteMany(source: Iterable<CID> | AsyncIterable<CID>): AsyncGenerator<CID> {
    for await (const cid of source) {
      await this.delete(cid);
      yield cid;
    }
  }

  /** Every block (raw-codec CIDs, as only the multihash is stored); files that are not blocks are skipped. */
  async *getAll(options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const cid of this.cids()) {
      options?.signal?.throwIfAborted();
      let block: Uint8Array;
      try {
        block = await this.read(cid, options);
      } catch (error) {
        if (error instanceof NotFoundError) continue; // deleted while listing
        throw error;
      }
      yield { cid, bytes: once(block) };
    }
  }

  /** The CIDs of every block, from file names (no block is read), one shard directory in memory at a time. */
  async *cids(): AsyncGenerator<CID> {
    for (const shard of await readdir(this.dir, { withFileTypes: true })) {
      if (!shard.isDirectory() || shard.name === TMP) continue;
      for (const name of await readdir(join(this.dir, shard.name)).catch(() => [] as string[])) {
        const cid = cidOfFile(name);
        if (cid) yield cid;
      }
    }
  }
}

function cidOfFile(name: string): CID | undefined {
  if (!name.endsWith(EXTENSION)) return undefined;
  try {
    return CID.createV1(raw.code, Digest.decode(base32upper.baseDecode(name.slice(0, -EXTENSION.length))));
  } catch {
    return undefined;
  }
}

async function* once(block: Uint8Array): AsyncGenerator<Uint8Array> {
  yield block;
}

async function collect(parts: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const all: Uint8Array[] = [];
  for await (const part of parts) all.push(part);
  return Buffer.concat(all);
}

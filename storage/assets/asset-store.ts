/**
 * Object storage: assets by content hash. Bytes are UnixFS DAGs in Helia's file blockstore (blocks
 * shared between assets are stored once); metadata lives in the node's LevelDB (`assets`: cid → record,
 * `assetUmids`: umid → cid). Every asset is pinned while it is wanted; whether it is wanted (referenced
 * by a world, or inside its grace period) is decided above this layer, which only pins, unpins and
 * collects.
 */
import { EventEmitter } from 'node:events';
import type { Libp2p } from '@libp2p/interface';
import { importByteStream } from 'ipfs-unixfs-importer';
import { CID } from 'multiformats/cid';
import { DomainError, invalid } from '../../common/errors.ts';
import type { Database } from '../db/database.ts';
import type { AssetRecord } from '../db/records.ts';
import { ImportGate } from './gate.ts';
import { type AssetRef, umidOf } from './ids.ts';
import { CHUNK_SIZE, IMPORT_OPTIONS, Ipfs } from './ipfs.ts';
import { leafPipeline } from './leaf-import.ts';
import { readLocalFile } from './local-file.ts';
import type { PeerFilter } from './peer-gate.ts';
import { localPinWalker } from './pin-walker.ts';
import { BufferPool, type Lease, readLocalFilePooled } from './read-pool.ts';
import { Renditions } from './renditions.ts';
import {
  type AssetFormat,
  type AssetKind,
  DEFAULT_KIND,
  KIND_FORMATS,
  MIME,
  SNIFF_BYTES,
  sniff,
} from './sniff.ts';

export type AssetLimits = Record<AssetKind, number>;

export interface ImportRequest {
  /** The kind the client claims; without one it is inferred from the content. */
  kind?: AssetKind;
  name: string;
  uploader: string;
}

export interface ImportResult {
  record: AssetRecord;
  /** False when the same bytes were already stored (the existing record is returned). */
  created: boolean;
}

export interface GcReport {
  /** CIDs whose metadata was removed. */
  assets: string[];
  /** Blocks deleted from the blockstore (including leftovers of aborted uploads). */
  blocks: number;
}

/** Our pins carry this, so that a pin without a record (a crash between the two writes) can be found. */
const PIN_METADATA = { source: 'odyssey-asset' };

/** Object storage's tables (names are on-disk key prefixes: never rename them). */
export function assetTables(db: Database) {
  return {
    level: db.level,
    /** cid → asset metadata */
    assets: db.sublevel<AssetRecord>('assets'),
    /** umid → cid: the asset id PosBus carries, back to its CID */
    assetUmids: db.sublevel<string>('asset-umids'),
    /** userId → bytes of the assets recorded with them as uploader (written with those records) */
    uploadUsage: db.sublevel<number>('upload-usage'),
  };
}

export class AssetStore extends EventEmitter<{ imported: [AssetRecord]; removed: [AssetRecord] }> {
  readonly ipfs: Ipfs;
  readonly limits: AssetLimits;
  /** Scaled PNGs of images, cached on disk (the original's texture sizes). */
  readonly renditions: Renditions;
  private readonly db: ReturnType<typeof assetTables>;
  private readonly gate = new ImportGate();
  /**
   * Buffers of downloads written straight to sockets (`readPooled`): a leaf each; 16 kept free at most
   * (4 MiB), enough for a few downloads at once to allocate nothing.
   */
  readonly readPool = new BufferPool(CHUNK_SIZE, 16);
  /** The tail of the serialised commit sections of imports. */
  private commits: Promise<unknown> = Promise.resolve();

  private constructor(ipfs: Ipfs, db: Database, limits: AssetLimits, cacheDir: string) {
    super();
    this.ipfs = ipfs;
    this.db = assetTables(db);
    this.limits = limits;
    this.renditions = new Renditions(cacheDir, (cid) => this.read(cid));
  }

  /** Opens Helia under `dir` on the given (already started) libp2p host; renditions go to `cacheDir`. */
  static async open(options: {
    dir: string;
    cacheDir: string;
    db: Database;
    libp2p: Libp2p;
    limits: AssetLimits;
    /** The peers bitswap may serve and ask (all connected peers when absent). */
    allowPeer?: PeerFilter;
  }): Promise<AssetStore> {
    const ipfs = await Ipfs.open(options.dir, options.libp2p, options.allowPeer);
    return new AssetStore(ipfs, options.db, options.limits, options.cacheDir);
  }

  async close(): Promise<void> {
    await this.ipfs.close();
  }

  /**
   * Streams a file into UnixFS: sniffed from its first bytes (415 when it is not of the claimed kind),
   * counted as it flows (413 past the kind's limit), pinned, then recorded. A refused upload leaves no
   * record; blocks it had already written stay until the next GC.
   */
  async import(source: AsyncIterable<Uint8Array>, request: ImportRequest): Promise<ImportResult> {
    await this.gate.enter();
    try {
      const info: Sniffed = { size: 0 };
      // Straight into the file blockstore, past Helia's wrappers: the import gate already keeps GC out,
      // and no peer can want blocks of a DAG whose CID nobody knows yet. Each leaf is written before the
      // import resolves, so the answer to the upload comes after every byte is stored.
      const blocks = this.ipfs.blocks;
      const { cid } = await importByteStream(guard(source, request.kind, this.limits, info), blocks, {
        ...IMPORT_OPTIONS,
        ...leafPipeline(CHUNK_SIZE, blocks),
      });
      // One commit at a time: two uploads of the same new bytes must not both create (and both be charged
      // for) the record, and two of one uploader must not both read the same usage and each add to it.
      return await this.serially(() => this.commit(cid, info, request));
    } finally {
      this.gate.leave();
    }
  }

  /** Records an imported DAG: the existing record when the bytes were stored already, else a new one. */
  private async commit(cid: CID, info: Sniffed, request: ImportRequest): Promise<ImportResult> {
    const key = cid.toString();
    const existing = await this.db.assets.get(key);
    if (existing) {
      // The same bytes again: nothing new to store. If the asset was on its way out, it is wanted again.
      if (!(await this.isPinned(cid))) {
        await this.pin(cid);
        existing.releasedAt = Date.now();
        await this.db.assets.put(key, existing);
      }
      this.emit('imported', existing);
      return { record: existing, created: false };
    }
    const format = info.format as AssetFormat;
    const now = Date.now();
    const record: AssetRecord = {
      cid: key,
      umid: umidOf(cid),
      name: cleanName(request.name),
      kind: info.kind as AssetKind,
      mime: MIME[format],
      size: info.size,
      uploader: request.uploader,
      createdAt: now,
      releasedAt: now,
    };
    const other = await this.db.assetUmids.get(record.umid);
    if (other && other !== key) throw new Error(`umid ${record.umid} of ${key} is taken by ${other}`);
    // Pin before the record: a crash in between leaves a pin without a record, which GC removes.
    await this.pin(cid, undefined, { local: true });
    const used = await this.usedBytes(record.uploader);
    await this.db.level.batch([
      { type: 'put', sublevel: this.db.assets, key, value: record },
      { type: 'put', sublevel: this.db.assetUmids, key: record.umid, value: key },
      { type: 'put', sublevel: this.db.uploadUsage, key: record.uploader, value: used + record.size },
    ]);
    this.emit('imported', record);
    return { record, created: true };
  }

  /**
   * Records an asset fetched from a peer, whose blocks the caller has already fetched and pinned (and
   * whose size, kind and MIME type it checked against the bytes). No upload quota is charged.
   */
  async adopt(record: AssetRecord): Promise<AssetRecord> {
    return this.serially(async () => {
      const existing = await this.db.assets.get(record.cid);
      if (existing) return existing;
      await this.db.level.batch([
        { type: 'put', sublevel: this.db.assets, key: record.cid, value: record },
        { type: 'put', sublevel: this.db.assetUmids, key: record.umid, value: record.cid },
      ]);
      this.emit('imported', record);
      return record;
    });
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.commits.then(fn);
    this.commits = run.catch(() => {});
    return run;
  }

  /**
   * Bytes of the assets recorded with `uploader` as their uploader: what was stored because of their
   * uploads (an upload of bytes already stored adds nothing), until garbage collection removes it.
   */
  async usedBytes(uploader: string): Promise<number> {
    return (await this.db.uploadUsage.get(uploader)) ?? 0;
  }

  async get(cid: string): Promise<AssetRecord | undefined> {
    return this.db.assets.get(cid);
  }

  /** The record behind a CID or a UMID. */
  async resolve(ref: AssetRef): Promise<AssetRecord | undefined> {
    const cid = ref.cid ? ref.cid.toString() : await this.db.assetUmids.get(ref.umid);
    return cid ? this.db.assets.get(cid) : undefined;
  }

  async cidOfUmid(umid: string): Promise<string | undefined> {
    return this.db.assetUmids.get(umid);
  }

  /**
   * A page of records in CID order after `after`, filtered. The scan is bounded too, so a rare filter
   * cannot make one request walk the whole store: `next` says where to go on.
   */
  async list(query: {
    after?: string;
    limit: number;
    kind?: AssetKind;
    uploader?: string;
  }): Promise<{ assets: AssetRecord[]; next?: string }> {
    const assets: AssetRecord[] = [];
    const maxScan = query.limit * 10 + 1000;
    let scanned = 0;
    let last: string | undefined;
    const range = query.after ? { gt: query.after } : {};
    for await (const [key, record] of this.db.assets.iterator(range)) {
      last = key;
      if (++scanned > maxScan) return { assets, next: last };
      if (query.kind && record.kind !== query.kind) continue;
      if (query.uploader && record.uploader !== query.uploader) continue;
      assets.push(record);
      if (assets.length === query.limit) return { assets, next: key };
    }
    return { assets };
  }

  async *records(): AsyncGenerator<AssetRecord> {
    for await (const record of this.db.assets.values()) yield record;
  }

  /** The file's bytes (or a range of them), local blocks only, read from the block files (local-file.ts). */
  read(cid: CID, range: { offset?: number; length?: number } = {}): AsyncIterable<Uint8Array> {
    const offset = range.offset ?? 0;
    return readLocalFile(this.ipfs.blocks, cid, offset, range.length ?? Number.POSITIVE_INFINITY);
  }

  /**
   * As `read`, each piece in a buffer lent from `readPool`, to be released once written (a download
   * written straight to its socket releases it from the write's callback).
   */
  readPooled(cid: CID, range: { offset: number; length: number }): AsyncIterable<Lease> {
    return readLocalFilePooled(this.ipfs.blocks, cid, range.offset, range.length, this.readPool);
  }

  /** As `read`, but blocks missing here are fetched from peers (hash-checked) until `signal` aborts. */
  readFromPeers(
    cid: CID,
    range: { offset?: number; length?: number },
    signal: AbortSignal,
  ): AsyncIterable<Uint8Array> {
    return this.ipfs.fs.cat(cid, { ...range, signal });
  }

  /** True when this CID itself carries a pin (not merely a block covered by another asset's pin). */
  async isPinned(cid: CID): Promise<boolean> {
    try {
      await this.ipfs.helia.pins.get(cid);
      return true;
    } catch (e) {
      if ((e as Error).name === 'NotFoundError') return false;
      throw e;
    }
  }

  /**
   * Pins the DAG; blocks missing here are fetched from peers (that is how a remote asset is fetched).
   * `local`: every block is known to be here (just imported), so raw leaves need not be read.
   */
  async pin(cid: CID, signal?: AbortSignal, how: { local?: boolean } = {}): Promise<void> {
    if (await this.isPinned(cid)) return;
    const walker = how.local ? localPinWalker() : undefined;
    for await (const _ of this.ipfs.helia.pins.add(cid, { metadata: PIN_METADATA, signal, walker })) {
      // Draining the generator is what pins each block of the DAG.
    }
  }

  async unpin(cid: CID): Promise<void> {
    if (!(await this.isPinned(cid))) return;
    // Unpinning needs no leaf bytes, and must not go looking for a missing block on the network.
    for await (const _ of this.ipfs.helia.pins.rm(cid, { walker: localPinWalker() })) {
      // As above: each yielded CID is a block released.
    }
  }

  async setReleasedAt(cid: string, at: number | undefined): Promise<void> {
    const record = await this.db.assets.get(cid);
    if (!record || record.releasedAt === at) return;
    if (at === undefined) delete record.releasedAt;
    else record.releasedAt = at;
    await this.db.assets.put(cid, record);
  }

  /**
   * Garbage collection, with no upload in flight: records of unpinned assets are removed (unless `keep`
   * says a world wants them, in which case they are pinned again), pins of ours without a record are
   * dropped, then Helia deletes every block no pin covers. Blocks shared with a pinned asset stay.
   */
  async collect(keep: (record: AssetRecord) => boolean): Promise<GcReport> {
    return this.gate.exclusive(async () => {
      const report: GcReport = { assets: [], blocks: 0 };
      for await (const [key, record] of this.db.assets.iterator()) {
        const cid = CID.parse(key);
        if (await this.isPinned(cid)) continue;
        if (keep(record)) {
          await this.pin(cid);
          continue;
        }
        // No import commits while GC holds the gate, so this read of the usage cannot race a write.
        const used = await this.usedBytes(record.uploader);
        await this.db.level.batch([
          { type: 'del', sublevel: this.db.assets, key },
          { type: 'del', sublevel: this.db.assetUmids, key: record.umid },
          // A fetched asset charged nobody here (and its uploader id may be a user of this node too).
          ...(record.fetchedFrom
            ? []
            : [
                {
                  type: 'put' as const,
                  sublevel: this.db.uploadUsage,
                  key: record.uploader,
                  value: Math.max(0, used - record.size),
                },
              ]),
        ]);
        this.emit('removed', record);
        report.assets.push(key);
        await this.renditions.forget(key);
      }
      for await (const pin of this.ipfs.helia.pins.ls()) {
        if (pin.metadata.source !== PIN_METADATA.source) continue;
        if (!(await this.db.assets.get(pin.cid.toString()))) await this.unpin(pin.cid);
      }
      await this.ipfs.helia.gc({
        onProgress: (event) => {
          if (event.type === 'helia:gc:deleted') report.blocks++;
        },
      });
      return report;
    });
  }
}

interface Sniffed {
  format?: AssetFormat;
  kind?: AssetKind;
  size: number;
}

/**
 * The upload as the importer sees it: held back until the first SNIFF_BYTES are in and the format is
 * known, then passed through while counting. Throwing here aborts the import.
 */
async function* guard(
  source: AsyncIterable<Uint8Array>,
  claimed: AssetKind | undefined,
  limits: AssetLimits,
  info: Sniffed,
): AsyncGenerator<Uint8Array> {
  let limit = claimed ? limits[claimed] : Math.max(...Object.values(limits));
  let head: Uint8Array[] = [];
  let headBytes = 0;
  const decide = () => {
    const format = sniff(Buffer.concat(head));
    if (!format)
      throw new DomainError(
        'unsupported',
        'unsupported_media_type',
        'the file is not a supported model, texture or image',
      );
    const kind = claimed ?? DEFAULT_KIND[format];
    if (!KIND_FORMATS[kind].includes(format)) {
      throw new DomainError(
        'unsupported',
        'unsupported_media_type',
        `a ${format} file cannot be a ${kind} (${KIND_FORMATS[kind].join(', ')})`,
      );
    }
    info.format = format;
    info.kind = kind;
    limit = limits[kind];
  };
  const check = () => {
    if (info.size > limit)
      throw new DomainError('too_large', 'asset_too_large', `the file is over the limit of ${limit} bytes`);
  };
  for await (const chunk of source) {
    info.size += chunk.length;
    check();
    if (info.format) {
      yield chunk;
      continue;
    }
    head.push(chunk);
    headBytes += chunk.length;
    if (headBytes < SNIFF_BYTES) continue;
    decide();
    check();
    yield* head;
    head = [];
  }
  if (!info.format) {
    if (info.size === 0) throw invalid('empty_file', 'the file is empty');
    decide();
    check();
    yield* head;
  }
}

/** A display name: no control characters, at most 255 characters. It is data, never a path. */
export function cleanName(name: string): string {
  const printable = [...name].filter((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f);
  const clean = printable.join('').trim().slice(0, 255);
  return clean || 'asset';
}

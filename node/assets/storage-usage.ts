/**
 * What the node stores for assets, against `--storage-quota-gb`: the sum of the sizes of the assets it
 * has records of (uploads and fetched ones), kept up to date from the store's events. Blocks of aborted
 * uploads and of downloads served on demand are not counted: they are unpinned and the next GC removes
 * them. Crossing the quota either way is logged once.
 *
 * A background fetch reserves the asset's size before its first block arrives and gives the reservation
 * back once the asset is recorded (or the fetch failed): so fetches running at once cannot together
 * overrun the quota, each seeing room the others are about to take.
 */
import type { Logger } from 'pino';
import type { AssetStore } from '../../storage/assets/asset-store.ts';
import type { AssetRecord } from '../../storage/db/records.ts';

export class StorageUsage {
  private readonly assets: AssetStore;
  private readonly quotaBytes: number;
  private readonly log: Logger;
  private readonly sizes = new Map<string, number>();
  private used = 0;
  /** Bytes of fetches under way. */
  private reserved = 0;
  private wasOver = false;
  private readonly onImported = (r: AssetRecord) => this.add(r);
  private readonly onRemoved = (r: AssetRecord) => this.remove(r);

  constructor(assets: AssetStore, quotaBytes: number, log: Logger) {
    this.assets = assets;
    this.quotaBytes = quotaBytes;
    this.log = log;
  }

  async start(): Promise<void> {
    this.assets.on('imported', this.onImported);
    this.assets.on('removed', this.onRemoved);
    for await (const record of this.assets.records()) this.add(record);
  }

  stop(): void {
    this.assets.off('imported', this.onImported);
    this.assets.off('removed', this.onRemoved);
  }

  get overQuota(): boolean {
    return this.quotaBytes > 0 && this.used > this.quotaBytes;
  }

  view(): {
    usedBytes: number;
    reservedBytes: number;
    quotaBytes: number;
    overQuota: boolean;
    pinningForOthers: boolean;
  } {
    return {
      usedBytes: this.used,
      reservedBytes: this.reserved,
      quotaBytes: this.quotaBytes,
      overQuota: this.overQuota,
      pinningForOthers: !this.overQuota,
    };
  }

  /**
   * Reserves `bytes` for a fetch when they fit under the quota with everything stored and reserved (or
   * unconditionally with `force`: what the node's own worlds need); the release function, or undefined.
   */
  reserve(bytes: number, force = false): (() => void) | undefined {
    if (!force && this.quotaBytes > 0 && this.used + this.reserved + bytes > this.quotaBytes)
      return undefined;
    this.reserved += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reserved -= bytes;
    };
  }

  private add(record: AssetRecord): void {
    if (this.sizes.has(record.cid)) return;
    this.sizes.set(record.cid, record.size);
    this.used += record.size;
    this.noticeChange();
  }

  private remove(record: AssetRecord): void {
    const size = this.sizes.get(record.cid);
    if (size === undefined) return;
    this.sizes.delete(record.cid);
    this.used -= size;
    this.noticeChange();
  }

  private noticeChange(): void {
    if (this.overQuota === this.wasOver) return;
    this.wasOver = this.overQuota;
    if (this.wasOver)
      this.log.warn(this.view(), "over the storage quota: pinning only what this node's own worlds need");
    else this.log.info(this.view(), 'back under the storage quota: pinning for other nodes again');
  }
}

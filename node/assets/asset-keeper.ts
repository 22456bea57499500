/**
 * Pins follow references: an asset a live world object uses is pinned; one nobody uses keeps its pin
 * for a grace period (uploads are usually placed a little later, and an undo should find the bytes),
 * then loses it, and the next garbage collection removes it. Since pins are per asset and Helia's GC
 * keeps every block any pin covers, removing one asset never removes bytes another asset shares.
 * All pin changes run one at a time on a queue, each reading the current state, so the order in which
 * events arrive does not matter.
 */
import { CID } from 'multiformats/cid';
import type { Logger } from 'pino';
import type { AssetStore, GcReport } from '../../storage/assets/asset-store.ts';
import type { AssetRecord } from '../../storage/db/records.ts';
import type { AssetReferences } from './references.ts';

export class AssetKeeper {
  private readonly assets: AssetStore;
  private readonly references: AssetReferences;
  private readonly graceMs: number;
  /** Assets kept pinned though no world references them (fetched ones under `--pin all-trusted`). */
  private readonly keepAlso: (record: AssetRecord) => boolean;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly onReference = (umid: string) => this.enqueue(() => this.reconcileUmid(umid));
  private readonly onImported = (record: AssetRecord) => this.enqueue(() => this.reconcileCid(record.cid));

  constructor(c: {
    assets: AssetStore;
    references: AssetReferences;
    graceMs: number;
    keepAlso?: (record: AssetRecord) => boolean;
    logger: Logger;
  }) {
    this.assets = c.assets;
    this.references = c.references;
    this.graceMs = c.graceMs;
    this.keepAlso = c.keepAlso ?? (() => false);
    this.log = c.logger.child({ component: 'assets' });
  }

  /** Brings every pin in line with the references, then follows changes and sweeps now and then. */
  async start(): Promise<void> {
    this.references.on('changed', this.onReference);
    this.assets.on('imported', this.onImported);
    await this.sweep();
    // Often enough that an expired grace period is noticed within a small fraction of it.
    const every = Math.max(1000, Math.min(this.graceMs, 3_600_000));
    this.timer = setInterval(() => void this.sweep().catch(() => {}), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.references.off('changed', this.onReference);
    this.assets.off('imported', this.onImported);
    await this.queue;
  }

  /** Re-checks every asset: pins what is used, starts the clock on what is not, unpins what expired. */
  sweep(): Promise<void> {
    return this.enqueue(async () => {
      for await (const record of this.assets.records()) await this.reconcile(record);
    });
  }

  /** Sweeps, then removes every unpinned asset and every block no pin covers. */
  gc(): Promise<GcReport> {
    return this.enqueue(async () => {
      for await (const record of this.assets.records()) await this.reconcile(record);
      const report = await this.assets.collect((record) => this.wanted(record));
      this.log.info({ assets: report.assets.length, blocks: report.blocks }, 'asset garbage collection');
      return report;
    });
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch((err) => this.log.error({ err }, 'asset pin update failed'));
    return run;
  }

  private async reconcileUmid(umid: string): Promise<void> {
    const cid = await this.assets.cidOfUmid(umid);
    if (cid) await this.reconcileCid(cid);
  }

  private async reconcileCid(cid: string): Promise<void> {
    const record = await this.assets.get(cid);
    if (record) await this.reconcile(record);
  }

  private wanted(record: AssetRecord): boolean {
    return this.references.isReferenced(record.umid) || this.keepAlso(record);
  }

  private async reconcile(record: AssetRecord): Promise<void> {
    const cid = CID.parse(record.cid);
    if (this.wanted(record)) {
      await this.assets.pin(cid);
      await this.assets.setReleasedAt(record.cid, undefined);
    } else if (record.releasedAt === undefined) {
      await this.assets.setReleasedAt(record.cid, Date.now());
    } else if (Date.now() - record.releasedAt >= this.graceMs) {
      await this.assets.unpin(cid);
    }
  }
}

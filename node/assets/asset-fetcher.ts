/**
 * Assets across nodes. A node holds every asset its worlds reference, mirrored worlds included: whenever
 * a referenced asset has no record here (a remote op placed it, or a mirrored world arrived with it), it
 * is fetched from trusted peers in the background, a few at a time, and pinned; the keeper then keeps it
 * pinned like an upload for as long as a world references it. A download of an asset this node does not
 * have is served by fetching it from peers on the spot (`onDemand`), with a clear timeout.
 *
 * From a reference to bytes: a texture names its CID; a model names a UMID, which is a truncated hash of
 * the CID, so the CID comes from a trusted peer's record (record-exchange.ts) and is checked to hash to
 * the UMID. Blocks come over bitswap and are checked against their CIDs by Helia; the size is read from
 * the UnixFS root and the MIME type sniffed from the first bytes, never taken from the peer.
 *
 * Policy (`--pin`): `referenced` (the above), `all-trusted` (also every asset the trusted peers hold:
 * their asset lists are read now and then, and every asset fetched on demand is kept), `none` (fetches
 * only to serve a download; nothing is pinned for anyone). Quota (`--storage-quota-gb`): a fetch reserves
 * the asset's size first (storage-usage.ts) and is not made when it does not fit, unless one of the
 * node's own worlds (created or seeded here) or the starter set needs it; over the quota, nothing is
 * pinned for others any more.
 *
 * On demand, lookups of the same asset at the same time share one lookup, and at most
 * ON_DEMAND_LOOKUPS run at once (the others wait, within their timeout): a burst of downloads of
 * missing assets cannot turn into a burst of peer streams.
 */
import { CID } from 'multiformats/cid';
import type { Logger } from 'pino';
import type { AssetStore } from '../../storage/assets/asset-store.ts';
import { type AssetRef, umidOf } from '../../storage/assets/ids.ts';
import { DEFAULT_KIND, KIND_FORMATS, MIME, SNIFF_BYTES, sniff } from '../../storage/assets/sniff.ts';
import type { AssetRecord } from '../../storage/db/records.ts';
import { parseStamp } from '../world/hlc.ts';
import type { WorldStore } from '../world/world-store.ts';
import type { AssetRecordExchange, PeerAssetRecord } from './record-exchange.ts';
import type { AssetReferences } from './references.ts';
import { StorageUsage } from './storage-usage.ts';

export type PinPolicy = 'referenced' | 'all-trusted' | 'none';

/** No peer delivered in time: the HTTP layer answers 504. */
export class AssetFetchTimeout extends Error {
  override readonly name = 'AssetFetchTimeout';
}

class AssetNotFound extends Error {}

/** On-demand lookups (record exchange, root block, first bytes) running at once. */
export const ON_DEMAND_LOOKUPS = 8;
/** Assets of one peer's list read per round under `all-trusted` (the rest next round). */
const LIST_PER_ROUND = 2_000;

export interface FetcherOptions {
  policy: PinPolicy;
  /** 0 = no quota. */
  quotaBytes: number;
  /** How long a download waits for peers (for the first bytes, and between blocks). */
  timeoutMs: number;
  /** Background fetches at a time. */
  concurrency: number;
  /** How often referenced assets still missing are tried again. */
  retryMs: number;
}

export class AssetFetcher {
  readonly usage: StorageUsage;
  private readonly assets: AssetStore;
  private readonly references: AssetReferences;
  private readonly records: AssetRecordExchange;
  private readonly store: WorldStore;
  private readonly self: string;
  private readonly o: FetcherOptions;
  private readonly log: Logger;
  private readonly queued = new Set<string>();
  private readonly waiting: string[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly refusedForQuota = new Set<string>();
  /** UMIDs no peer had: when to ask again (doubling, up to an hour; a new reference asks at once). */
  private readonly backoff = new Map<string, { next: number; delayMs: number }>();
  private readonly stopping = new AbortController();
  /** On-demand lookups under way, by UMID: a second download of the same asset joins the first. */
  private readonly lookups = new Map<string, Promise<AssetRecord | undefined>>();
  private activeLookups = 0;
  private readonly lookupQueue: (() => void)[] = [];
  readonly lookupStats = { started: 0, joined: 0 };
  /** Under `all-trusted`: where the last round stopped in each peer's asset list. */
  private readonly listCursor = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onReference = (umid: string) => {
    this.backoff.delete(umid);
    this.schedule(umid);
  };

  constructor(
    c: {
      assets: AssetStore;
      references: AssetReferences;
      records: AssetRecordExchange;
      store: WorldStore;
      selfId: string;
      logger: Logger;
    },
    options: FetcherOptions,
  ) {
    this.assets = c.assets;
    this.references = c.references;
    this.records = c.records;
    this.store = c.store;
    this.self = c.selfId;
    this.o = options;
    this.log = c.logger.child({ component: 'asset-fetch' });
    this.usage = new StorageUsage(c.assets, options.quotaBytes, this.log);
  }

  async start(): Promise<void> {
    await this.usage.start();
    if (this.o.policy === 'none') return;
    this.references.on('changed', this.onReference);
    this.timer = setInterval(() => this.scheduleMissing(), this.o.retryMs);
    this.timer.unref();
    this.scheduleMissing();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.references.off('changed', this.onReference);
    this.waiting.length = 0;
    this.stopping.abort();
    await Promise.allSettled(this.running);
    this.usage.stop();
  }

  /**
   * The record of an asset this node does not have, made from what peers deliver within the timeout;
   * undefined when no trusted peer knows the UMID, or none is connected (nobody to wait for). Under `all-trusted` the asset is then fetched whole
   * and kept. Throws AssetFetchTimeout when the bytes do not come in time.
   */
  async onDemand(ref: AssetRef): Promise<AssetRecord | undefined> {
    if (!this.records.hasTrustedPeers()) return undefined;
    const umid = ref.cid ? umidOf(ref.cid) : ref.umid;
    const running = this.lookups.get(umid);
    if (running) {
      this.lookupStats.joined++;
      return running;
    }
    this.lookupStats.started++;
    const lookup = this.lookup(ref).finally(() => this.lookups.delete(umid));
    this.lookups.set(umid, lookup);
    return lookup;
  }

  private async lookup(ref: AssetRef): Promise<AssetRecord | undefined> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.stopping.signal]);
    try {
      await this.lookupSlot(signal);
    } catch {
      throw new AssetFetchTimeout(`too many asset lookups under way for ${this.o.timeoutMs} ms`);
    }
    try {
      const umid = ref.cid ? umidOf(ref.cid) : ref.umid;
      const found = await this.locate(umid, ref.cid, signal);
      if (!found) return undefined;
      const record = await this.inspect(found.cid, found.claimed, signal);
      if (this.o.policy === 'all-trusted' && !this.usage.overQuota) this.schedule(umid, found.cid);
      return record;
    } catch (error) {
      if (signal.aborted)
        throw new AssetFetchTimeout(`no peer delivered the asset within ${this.o.timeoutMs} ms`);
      throw error;
    } finally {
      this.activeLookups--;
      this.lookupQueue.shift()?.();
    }
  }

  /** Waits for one of the ON_DEMAND_LOOKUPS slots (given back in `lookup`'s finally). */
  private async lookupSlot(signal: AbortSignal): Promise<void> {
    if (this.activeLookups < ON_DEMAND_LOOKUPS) {
      this.activeLookups++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const take = () => {
        signal.removeEventListener('abort', giveUp);
        this.activeLookups++;
        resolve();
      };
      const giveUp = () => {
        const at = this.lookupQueue.indexOf(take);
        if (at >= 0) this.lookupQueue.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', giveUp, { once: true });
      this.lookupQueue.push(take);
    });
  }

  /** Which connected trusted peers hold an asset (their record exchange says so), within `timeoutMs`. */
  providers(ref: AssetRef, timeoutMs: number) {
    const umid = ref.cid ? umidOf(ref.cid) : ref.umid;
    return this.records.providers(
      umid,
      AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stopping.signal]),
    );
  }

  /** True when a trusted peer is connected, so that a block missing here may still come. */
  canFetch(): boolean {
    return this.records.hasTrustedPeers();
  }

  /**
   * The bytes of an asset, fetched from peers as far as they are not here. Each block must arrive within
   * the timeout (the wait is not counted while the client is slow to take the bytes).
   */
  async *read(cid: CID, range: { offset: number; length: number }): AsyncGenerator<Uint8Array> {
    const idle = new AbortController();
    const stop = () => idle.abort(new AssetFetchTimeout(`no block arrived within ${this.o.timeoutMs} ms`));
    let timer = setTimeout(stop, this.o.timeoutMs);
    try {
      for await (const chunk of this.assets.readFromPeers(cid, range, idle.signal)) {
        clearTimeout(timer);
        yield chunk;
        timer = setTimeout(stop, this.o.timeoutMs);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** A CID and what a peer said about it: the local mapping, a texture slot, else a trusted peer's record. */
  private async locate(
    umid: string,
    known: CID | undefined,
    signal: AbortSignal,
  ): Promise<{ cid: CID; claimed?: PeerAssetRecord } | undefined> {
    const local = known?.toString() ?? (await this.assets.cidOfUmid(umid)) ?? this.references.cidOf(umid);
    // The peer's record is asked for even when the CID is known: it brings the name and kind.
    const claimed = await this.records.lookup(umid, signal).catch((error: unknown) => {
      if (signal.aborted) throw error;
      return undefined;
    });
    if (local) return { cid: CID.parse(local), claimed };
    return claimed ? { cid: CID.parse(claimed.cid), claimed } : undefined;
  }

  /** A record from the bytes themselves (root block for the size, first bytes for the format). */
  private async inspect(
    cid: CID,
    claimed: PeerAssetRecord | undefined,
    signal: AbortSignal,
  ): Promise<AssetRecord> {
    const stat = await this.assets.ipfs.fs.stat(cid, { signal });
    if (stat.type === 'directory') throw new Error(`${cid} is a directory, not an asset`);
    const size = Number(stat.size);
    const head: Uint8Array[] = [];
    for await (const chunk of this.assets.readFromPeers(
      cid,
      { offset: 0, length: Math.min(size, SNIFF_BYTES) },
      signal,
    ))
      head.push(chunk);
    const format = sniff(Buffer.concat(head));
    if (!format) throw new Error(`${cid} is not a supported model, texture or image`);
    const kind = claimed && KIND_FORMATS[claimed.kind].includes(format) ? claimed.kind : DEFAULT_KIND[format];
    return {
      cid: cid.toString(),
      umid: umidOf(cid),
      name: claimed?.name ?? 'asset',
      kind,
      mime: MIME[format],
      size,
      uploader: claimed?.uploader ?? '',
      createdAt: claimed?.createdAt ?? Date.now(),
      fetchedFrom: claimed?.from ?? 'peers',
    };
  }

  private scheduleMissing(): void {
    this.prune();
    for (const umid of this.references.referenced()) this.schedule(umid);
    if (this.o.policy === 'all-trusted') void this.scheduleTrustedPeersAssets();
  }

  /**
   * Forgets what is no longer worth remembering: backoffs and quota refusals of assets no world
   * references (an asset seen in a peer's list under `all-trusted` comes back with the list), and list
   * cursors of peers no longer connected.
   */
  private prune(): void {
    const now = Date.now();
    for (const [umid, wait] of this.backoff)
      if (wait.next <= now && !this.references.isReferenced(umid)) this.backoff.delete(umid);
    for (const umid of this.refusedForQuota)
      if (!this.references.isReferenced(umid)) this.refusedForQuota.delete(umid);
    const peers = new Set(this.records.trustedPeers());
    for (const peer of this.listCursor.keys()) if (!peers.has(peer)) this.listCursor.delete(peer);
  }

  /** `all-trusted`: schedules what each trusted peer holds and this node does not, a page at a time. */
  private async scheduleTrustedPeersAssets(): Promise<void> {
    for (const peer of this.records.trustedPeers()) {
      if (this.usage.overQuota || this.stopping.signal.aborted) return;
      let after = this.listCursor.get(peer);
      try {
        for (let read = 0; read < LIST_PER_ROUND; ) {
          const signal = AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.stopping.signal]);
          const page = await this.records.list(peer, after, signal);
          for (const cid of page.cids)
            if (!(await this.assets.get(cid))) this.schedule(umidOf(CID.parse(cid)), CID.parse(cid));
          read += page.cids.length;
          after = page.next;
          if (!after) break;
        }
        if (after) this.listCursor.set(peer, after);
        else this.listCursor.delete(peer);
      } catch (err) {
        this.log.debug({ peer, err }, "could not read a trusted peer's asset list");
      }
    }
  }

  private schedule(umid: string, cid?: CID): void {
    if (this.queued.has(umid) || this.stopping.signal.aborted) return;
    if (!cid && !this.references.isReferenced(umid)) return;
    if ((this.backoff.get(umid)?.next ?? 0) > Date.now()) return;
    this.queued.add(umid);
    this.waiting.push(cid ? cid.toString() : umid);
    this.pump();
  }

  private pump(): void {
    while (this.running.size < this.o.concurrency && this.waiting.length) {
      const next = this.waiting.shift() as string;
      const cid = next.includes('-') ? undefined : CID.parse(next);
      const umid = cid ? umidOf(cid) : next;
      const run: Promise<void> = this.fetchAndPin(umid, cid)
        .catch((err: unknown) => this.failed(umid, err))
        .finally(() => {
          this.running.delete(run);
          this.queued.delete(umid);
          this.pump();
        });
      this.running.add(run);
    }
  }

  private backOff(umid: string): number {
    const delayMs = Math.min((this.backoff.get(umid)?.delayMs ?? this.o.retryMs / 2) * 2, 3_600_000);
    this.backoff.set(umid, { next: Date.now() + delayMs, delayMs });
    return delayMs;
  }

  private failed(umid: string, err: unknown): void {
    const delayMs = this.backOff(umid);
    // Nobody having it is common (the original's built-in models have no bytes anywhere): not a warning.
    if (err instanceof AssetNotFound) this.log.debug({ umid, retryInMs: delayMs }, err.message);
    else this.log.warn({ umid, err, retryInMs: delayMs }, 'asset fetch failed; retried later');
  }

  private async fetchAndPin(umid: string, knownCid?: CID): Promise<void> {
    if (await this.assets.cidOfUmid(umid)) return;
    if (this.usage.overQuota && !this.neededHere(umid)) {
      if (!this.refusedForQuota.has(umid)) {
        this.refusedForQuota.add(umid);
        this.log.warn(
          { umid, ...this.usage.view() },
          'over the storage quota: not pinning an asset for other nodes',
        );
      }
      return;
    }
    const started = Date.now();
    // Finding the asset is bounded by the timeout; the whole DAG gets more (it may be hundreds of MB).
    const find = AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.stopping.signal]);
    const found = await this.locate(umid, knownCid, find);
    if (!found) throw new AssetNotFound('no trusted peer knows this asset');
    const record = await this.inspect(found.cid, found.claimed, find);
    // Room first: fetches running at once must not together go past the quota.
    const release = this.usage.reserve(record.size, this.neededHere(umid));
    if (!release) {
      if (!this.refusedForQuota.has(umid)) {
        this.refusedForQuota.add(umid);
        this.log.warn(
          { umid, size: record.size, ...this.usage.view() },
          'not enough room under the storage quota: not pinning an asset for other nodes',
        );
      }
      // Asked again later, backing off as for a failure: room may come free, but not every few seconds.
      this.backOff(umid);
      return;
    }
    try {
      const whole = AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs * 40), this.stopping.signal]);
      await this.assets.pin(found.cid, whole);
      await this.assets.adopt(record);
    } finally {
      release();
    }
    this.refusedForQuota.delete(umid);
    this.backoff.delete(umid);
    this.log.info(
      { cid: record.cid, umid, size: record.size, from: record.fetchedFrom, ms: Date.now() - started },
      'asset fetched from peers and pinned',
    );
  }

  /** Whether one of this node's own worlds (or its starter set) needs the asset. */
  private neededHere(umid: string): boolean {
    const { worlds, permanent } = this.references.worldsUsing(umid);
    return permanent || [...worlds].some((worldId) => this.isOwnWorld(worldId));
  }

  /** A world created here or seeded (the root's oldest stamp is this node's or the seed's). */
  private isOwnWorld(worldId: string): boolean {
    const root = this.store.peek(worldId)?.objects.get(worldId);
    if (!root) return false;
    const stamps = Object.values(root.stamps)
      .filter((s): s is string => !!s)
      .sort();
    const origin = stamps.length ? parseStamp(stamps[0])?.nodeId : undefined;
    return origin === this.self || origin === 'seed';
  }
}

/**
 * What the dashboard shows: the node's public facts gathered from the services in one read. Everything
 * here is already public elsewhere (/health, /nodes, the worlds and asset routes) or is a count; peers'
 * details, GC and other admin routes stay behind the admin token.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import type { Harvester } from '../../harvester/harvester.ts';
import type { AssetRecord } from '../../storage/db/records.ts';
import type { Overview } from './overview-body.ts';

export interface OverviewSources {
  name: string;
  version: string;
  startedAt: number;
  dataDir: string;
  peerId: () => string;
  connectedPeers: () => string[];
  sessions: () => number;
  /** Every world the node holds or the federation announces, with online users and holders. */
  worlds: () => { id: string; name: string; online: number; nodes: string[] }[];
  holds: (worldId: string) => boolean;
  assets: { records(): AsyncIterable<AssetRecord>; isPinned(cid: CID): Promise<boolean> };
  harvester: Pick<Harvester, 'status' | 'on'>;
}

/** Above this many asset records the counts stop (and say so by being a lower bound); a dashboard read stays cheap. */
const MAX_ASSETS_SCANNED = 5000;
const RECENT_ASSETS = 8;
/** Walking the data dir costs a stat per file; once a minute is enough for a size shown in MB. */
const DIR_SIZE_TTL_MS = 60_000;
const ASSET_TTL_MS = 5000;

export class NodeOverview {
  readonly #s: OverviewSources;
  readonly #events = new Map<string, number>();
  #cpu = { at: performance.now(), usage: process.cpuUsage(), percent: 0 };
  #dirSize: { at: number; bytes: Promise<number> } | undefined;
  #assets: { at: number; value: Promise<Overview['assets']> } | undefined;

  constructor(sources: OverviewSources) {
    this.#s = sources;
    // Events per chain since start: the harvester's status has no such counter.
    sources.harvester.on('block', ({ chain, events }) => {
      this.#events.set(chain, (this.#events.get(chain) ?? 0) + events.length);
    });
  }

  async read(): Promise<Overview> {
    const s = this.#s;
    const [dataDirBytes, assets, harvester] = await Promise.all([
      this.#dataDirBytes(),
      this.#assetFacts(),
      s.harvester.status(),
    ]);
    const mem = process.memoryUsage();
    return {
      node: {
        name: s.name,
        version: s.version,
        uptimeSeconds: Math.round((Date.now() - s.startedAt) / 1000),
        peerId: s.peerId(),
        peers: s.connectedPeers().length,
        sessions: s.sessions(),
        cpuPercent: this.#cpuPercent(),
        rssBytes: mem.rss,
        dataDirBytes,
      },
      worlds: s
        .worlds()
        .map((w) => ({
          id: w.id,
          name: w.name,
          online: w.online,
          hosted: s.holds(w.id),
          nodes: w.nodes.length,
        }))
        .sort(
          (a, b) =>
            Number(b.hosted) - Number(a.hosted) || b.online - a.online || a.name.localeCompare(b.name),
        ),
      assets,
      harvester: {
        enabled: harvester.enabled,
        chains: harvester.chains.map((c) => ({
          name: c.name,
          family: c.family,
          health: c.health,
          head: c.head,
          processed: c.processed,
          lag: c.lag,
          events: this.#events.get(c.name) ?? 0,
          reorgs: c.reorgs,
          lastError: c.processingError ?? c.lastError,
        })),
      },
    };
  }

  /** CPU of this process since the previous read (both cores count: 200% is the ceiling on 2 cores). */
  #cpuPercent(): number {
    const now = performance.now();
    const elapsedMs = now - this.#cpu.at;
    // Reads closer than a second apart would give a noisy figure: keep the last one.
    if (elapsedMs < 1000) return this.#cpu.percent;
    const used = process.cpuUsage(this.#cpu.usage);
    const percent = Math.round(((used.user + used.system) / 1000 / elapsedMs) * 1000) / 10;
    this.#cpu = { at: now, usage: process.cpuUsage(), percent };
    return percent;
  }

  #dataDirBytes(): Promise<number> {
    if (!this.#dirSize || Date.now() - this.#dirSize.at > DIR_SIZE_TTL_MS) {
      this.#dirSize = { at: Date.now(), bytes: directorySize(this.#s.dataDir) };
    }
    return this.#dirSize.bytes;
  }

  #assetFacts(): Promise<Overview['assets']> {
    if (!this.#assets || Date.now() - this.#assets.at > ASSET_TTL_MS) {
      const value = this.#scanAssets();
      this.#assets = { at: Date.now(), value };
      // A failed scan is not cached: the next read tries again.
      value.catch(() => {
        if (this.#assets?.value === value) this.#assets = undefined;
      });
    }
    return this.#assets.value;
  }

  async #scanAssets(): Promise<Overview['assets']> {
    let count = 0;
    let bytes = 0;
    let pinned = 0;
    const recent: AssetRecord[] = [];
    for await (const record of this.#s.assets.records()) {
      if (count >= MAX_ASSETS_SCANNED) break;
      count++;
      bytes += record.size;
      if (await this.#s.assets.isPinned(CID.parse(record.cid))) pinned++;
      recent.push(record);
      if (recent.length > RECENT_ASSETS * 4) keepNewest(recent, RECENT_ASSETS);
    }
    keepNewest(recent, RECENT_ASSETS);
    const withPins = await Promise.all(
      recent.map(async (r) => ({
        cid: r.cid,
        name: r.name,
        kind: r.kind,
        mime: r.mime,
        size: r.size,
        createdAt: r.createdAt,
        pinned: await this.#s.assets.isPinned(CID.parse(r.cid)),
      })),
    );
    return { count, bytes, pinned, unpinned: count - pinned, recent: withPins };
  }
}

function keepNewest(records: AssetRecord[], n: number): void {
  records.sort((a, b) => b.createdAt - a.createdAt);
  records.length = Math.min(records.length, n);
}

/** Bytes of the files under `dir` (symlinks not followed); files that vanish while walking count as 0. */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(path);
    else if (entry.isFile())
      total += await stat(path).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

/**
 * The body of GET /api/v4/node/overview: what `NodeOverview` answers and the dashboard (web/) reads. One
 * definition for both, kept free of imports that are not types only, so that the browser build can
 * `import type` it: nothing of the node enters the bundle (type imports are erased) and `tsc -p web`
 * checks it without Node's types. The route's zod schema (api/routes/overview.ts) is what OpenAPI
 * publishes; the route's typed answer makes the compiler hold this type to it.
 */
import type { AssetRecord } from '../../storage/db/records.ts';

export interface WorldFact {
  id: string;
  name: string;
  online: number;
  hosted: boolean;
  nodes: number;
}

export interface RecentAsset {
  cid: string;
  name: string;
  kind: AssetRecord['kind'];
  mime: string;
  size: number;
  createdAt: number;
  pinned: boolean;
}

export interface Overview {
  node: {
    name: string;
    version: string;
    uptimeSeconds: number;
    peerId: string;
    peers: number;
    sessions: number;
    cpuPercent: number;
    rssBytes: number;
    dataDirBytes: number;
  };
  worlds: WorldFact[];
  assets: { count: number; bytes: number; pinned: number; unpinned: number; recent: RecentAsset[] };
  harvester: {
    enabled: boolean;
    chains: {
      name: string;
      family: string;
      health: string;
      head: number | null;
      processed: number | null;
      lag: number | null;
      events: number;
      reorgs: number;
      lastError: string | null;
    }[];
  };
}

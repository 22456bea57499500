/**
 * "Which node should this browser use for this world?": the directory's live nodes (this one included)
 * ranked for one caller by what is known of both. Pure, so the rules can be read here in one place:
 *
 * 1. A node with free capacity before a full one (sessions ≥ its announced `maxSessions`).
 * 2. Nearness: when the caller's geo is known, nodes with a geo by distance, in bands of
 *    `DISTANCE_BAND_KM` (within a band the network path matters more than the kilometres), then nodes
 *    without one; else, when the caller's region is known, nodes of that region first.
 * 3. A node that holds the world before one that would mirror it first (any trusted node can).
 * 4. Load: share of capacity in use, lower first; a node whose process is busy (≥ `BUSY_CPU` cores, i.e.
 *    its event loop is saturated) after the others.
 * 5. Peer id, so that equal nodes come in the same order for everyone.
 *
 * Nodes without a public URL (or with one a browser cannot open) are left out and listed as such.
 */
import type { AnnouncedLoad, GeoPoint } from '../../protocol/gossip/index.ts';
import type { KnownNode } from './directory.ts';
import { distanceKm } from './geo.ts';

export const DISTANCE_BAND_KM = 300;
export const BUSY_CPU = 0.9;

export interface Caller {
  geo?: GeoPoint;
  region?: string;
}

export interface Candidate {
  peerId: string;
  name: string;
  url: string;
  region: string | null;
  geo: GeoPoint | null;
  load: (AnnouncedLoad & { free: number }) | null;
  hostsWorld: boolean;
  distanceKm: number | null;
  /** What decided this node's place, for people and for logs. */
  reason: string;
}

export interface LeftOut {
  peerId: string;
  name: string;
  reason: 'no_public_url' | 'not_a_browser_url';
}

export interface Ranking {
  /** What nearness was judged by: the caller's geo, its region, or nothing (load only). */
  basis: 'geo' | 'region' | 'load';
  candidates: Candidate[];
  leftOut: LeftOut[];
}

export function withFree(load: AnnouncedLoad | undefined): Candidate['load'] {
  return load ? { ...load, free: Math.max(0, load.maxSessions - load.sessions) } : null;
}

/** The announced URL without trailing slashes, when it is an http(s) URL a browser can open. */
export function browserUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    return url.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

interface Scored {
  candidate: Candidate;
  full: boolean;
  nearness: number;
  use: number;
  busy: boolean;
}

export function rankNodes(nodes: KnownNode[], worldId: string, caller: Caller): Ranking {
  const basis = caller.geo ? 'geo' : caller.region ? 'region' : 'load';
  const leftOut: LeftOut[] = [];
  const scored: Scored[] = [];
  for (const node of nodes) {
    if (!node.url) {
      leftOut.push({ peerId: node.peerId, name: node.name, reason: 'no_public_url' });
      continue;
    }
    const url = browserUrl(node.url);
    if (!url) {
      leftOut.push({ peerId: node.peerId, name: node.name, reason: 'not_a_browser_url' });
      continue;
    }
    const load = withFree(node.load);
    const km = caller.geo && node.geo ? Math.round(distanceKm(caller.geo, node.geo)) : null;
    const sameRegion = !!caller.region && node.region === caller.region;
    const nearness =
      basis === 'geo' ? (km === null ? Number.POSITIVE_INFINITY : Math.floor(km / DISTANCE_BAND_KM)) : 0;
    const candidate: Candidate = {
      peerId: node.peerId,
      name: node.name,
      url,
      region: node.region ?? null,
      geo: node.geo ?? null,
      load,
      hostsWorld: node.worlds.some((w) => w.id === worldId),
      distanceKm: km,
      reason: '',
    };
    scored.push({
      candidate,
      full: load !== null && load.free === 0,
      nearness: basis === 'region' ? (sameRegion ? 0 : 1) : nearness,
      use: load ? load.sessions / load.maxSessions : 0,
      busy: load !== null && load.cpu >= BUSY_CPU,
    });
  }
  scored.sort(
    (a, b) =>
      Number(a.full) - Number(b.full) ||
      a.nearness - b.nearness ||
      Number(b.candidate.hostsWorld) - Number(a.candidate.hostsWorld) ||
      Number(a.busy) - Number(b.busy) ||
      a.use - b.use ||
      (a.candidate.peerId < b.candidate.peerId ? -1 : 1),
  );
  for (const s of scored) s.candidate.reason = explain(s, basis, caller);
  return { basis, candidates: scored.map((s) => s.candidate), leftOut };
}

function explain(s: Scored, basis: Ranking['basis'], caller: Caller): string {
  const c = s.candidate;
  const parts: string[] = [];
  if (s.full) parts.push('full');
  if (basis === 'geo') parts.push(c.distanceKm === null ? 'location unknown' : `${c.distanceKm} km away`);
  else if (basis === 'region')
    parts.push(
      c.region === caller.region ? `in your region ${c.region}` : `not in your region ${caller.region}`,
    );
  parts.push(c.hostsWorld ? 'hosts the world' : 'would mirror the world');
  if (c.load) {
    parts.push(`${c.load.sessions}/${c.load.maxSessions} sessions`);
    if (s.busy) parts.push(`busy (cpu ${c.load.cpu})`);
  } else parts.push('load unknown');
  return parts.join('; ');
}

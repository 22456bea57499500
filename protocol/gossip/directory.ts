/**
 * The directory topic: every node announces, every few seconds, its public URL, where it is (region,
 * geo), how loaded it is and the worlds it holds, so that any node can list the federation's worlds, tell
 * where a world is hosted, mirror it, and point a browser at the node that serves it best.
 *
 * Region, geo and load came after version 1 was out: they are optional on decode (a node of an earlier
 * build announces without them and is still listed), but bounded and range-checked when present.
 */
import {
  decodeRecord,
  encodeCbor,
  finite,
  GOSSIP_VERSION,
  GossipDecodeError,
  isRecord,
  list,
  map,
  text,
  uuid,
} from './codec.ts';

export interface AnnouncedWorld {
  id: string;
  name: string;
  ownerId: string;
  /** People in the world on the announcing node. */
  online: number;
}

export interface GeoPoint {
  /** Degrees, -90..90. */
  lat: number;
  /** Degrees, -180..180. */
  lon: number;
}

export interface AnnouncedLoad {
  /** PosBus sessions open on the node. */
  sessions: number;
  /** Sessions the node is sized for (its operator's `--max-sessions`). */
  maxSessions: number;
  /** The node process's CPU use since its previous announcement, in cores (1 = one core busy). */
  cpu: number;
}

export interface NodeAnnouncement {
  name: string;
  /** The URL browsers should use for the node ('' when the operator did not say). */
  url: string;
  version: string;
  /** The operator's region label (e.g. `eu-central`); absent when not configured. */
  region?: string;
  geo?: GeoPoint;
  load?: AnnouncedLoad;
  worlds: AnnouncedWorld[];
  /** Sender's clock (ms); informational. */
  at: number;
}

export const DIRECTORY_TOPIC = '/odyssey/directory/1';
export const MAX_ANNOUNCED_WORLDS = 5000;
export const MAX_REGION_LENGTH = 64;
const MAX_SESSIONS = 1e9;
/** More cores than any host has: a bound, not a claim. */
const MAX_CPU = 4096;

export function encodeAnnouncement(a: NodeAnnouncement): Uint8Array {
  return encodeCbor({ v: GOSSIP_VERSION, ...a });
}

export function decodeAnnouncement(bytes: Uint8Array, maxBytes: number): NodeAnnouncement {
  const m = decodeRecord(bytes, maxBytes);
  return {
    name: text(m, 'name', 200),
    url: text(m, 'url', 500),
    version: text(m, 'version', 50),
    ...(m.region === undefined ? {} : { region: text(m, 'region', MAX_REGION_LENGTH) }),
    ...(m.geo === undefined ? {} : { geo: geoPoint(map(m, 'geo')) }),
    ...(m.load === undefined ? {} : { load: load(map(m, 'load')) }),
    at: finite(m, 'at'),
    worlds: list(m, 'worlds', MAX_ANNOUNCED_WORLDS).map((w) => {
      if (!isRecord(w)) throw new GossipDecodeError('bad_field', 'worlds');
      const ownerId = w.ownerId === '' ? '' : uuid(w, 'ownerId');
      return { id: uuid(w, 'id'), name: text(w, 'name', 500), ownerId, online: finite(w, 'online') };
    }),
  };
}

function inRange(record: Record<string, unknown>, field: string, min: number, max: number): number {
  const value = finite(record, field);
  if (value < min || value > max) throw new GossipDecodeError('bad_field', field);
  return value;
}

function geoPoint(g: Record<string, unknown>): GeoPoint {
  return { lat: inRange(g, 'lat', -90, 90), lon: inRange(g, 'lon', -180, 180) };
}

function load(l: Record<string, unknown>): AnnouncedLoad {
  const sessions = inRange(l, 'sessions', 0, MAX_SESSIONS);
  const maxSessions = inRange(l, 'maxSessions', 1, MAX_SESSIONS);
  if (!Number.isInteger(sessions)) throw new GossipDecodeError('bad_field', 'sessions');
  if (!Number.isInteger(maxSessions)) throw new GossipDecodeError('bad_field', 'maxSessions');
  return { sessions, maxSessions, cpu: inRange(l, 'cpu', 0, MAX_CPU) };
}

/**
 * The directory topic: every node announces, every few seconds, its public URL and the worlds it holds,
 * so that any node can list the federation's worlds, tell where a world is hosted, and mirror it.
 */
import {
  decodeRecord,
  encodeCbor,
  finite,
  GOSSIP_VERSION,
  GossipDecodeError,
  isRecord,
  list,
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

export interface NodeAnnouncement {
  name: string;
  /** The URL browsers should use for the node ('' when the operator did not say). */
  url: string;
  version: string;
  worlds: AnnouncedWorld[];
  /** Sender's clock (ms); informational. */
  at: number;
}

export const DIRECTORY_TOPIC = '/odyssey/directory/1';
export const MAX_ANNOUNCED_WORLDS = 5000;

export function encodeAnnouncement(a: NodeAnnouncement): Uint8Array {
  return encodeCbor({ v: GOSSIP_VERSION, ...a });
}

export function decodeAnnouncement(bytes: Uint8Array, maxBytes: number): NodeAnnouncement {
  const m = decodeRecord(bytes, maxBytes);
  return {
    name: text(m, 'name', 200),
    url: text(m, 'url', 500),
    version: text(m, 'version', 50),
    at: finite(m, 'at'),
    worlds: list(m, 'worlds', MAX_ANNOUNCED_WORLDS).map((w) => {
      if (!isRecord(w)) throw new GossipDecodeError('bad_field', 'worlds');
      const ownerId = w.ownerId === '' ? '' : uuid(w, 'ownerId');
      return { id: uuid(w, 'id'), name: text(w, 'name', 500), ownerId, online: finite(w, 'online') };
    }),
  };
}

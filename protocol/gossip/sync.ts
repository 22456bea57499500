/**
 * World sync, a request/response protocol: the asking node sends, for one world, a digest of every object
 * it holds (its fields' and attributes' stamps); the answering node streams back, as ops, every object
 * whose digest differs or that the asker lacks, then an end frame. An empty digest list asks for the whole
 * world (a late joiner). Each frame is length-prefixed CBOR.
 */
import {
  decodeRecord,
  encodeCbor,
  finite,
  GOSSIP_VERSION,
  GossipDecodeError,
  isRecord,
  isUuid,
  list,
  text,
  uuid,
} from './codec.ts';
import { readOp, type WireOp } from './ops.ts';

export const WORLD_SYNC_PROTOCOL = '/odyssey/world-sync/1.0.0';

/** objectId → digest of its stamps (hex). */
export type ObjectDigests = [objectId: string, digest: string][];

export interface SyncRequest {
  worldId: string;
  digests: ObjectDigests;
}

export type SyncFrame =
  /** One object's state as ops (one per distinct field stamp, one per attribute). */
  | { t: 'ops'; ops: WireOp[] }
  /** From the asker, after every SYNC_WINDOW object frames it has applied: send the next window. */
  | { t: 'more' }
  | { t: 'end'; objects: number }
  | { t: 'refused'; reason: string };

/**
 * Objects of one world as sync carries them: the digests of one request, and the object frames of one
 * answer (an asker cuts an answer that goes past it: WorldSync).
 */
export const MAX_SYNC_OBJECTS = 1_000_000;
/**
 * Object frames the answerer sends before it waits for the asker's `more`: flow control, so that an
 * asker that applies slower than the answerer reads never has more than one window buffered.
 */
export const SYNC_WINDOW = 128;
/** One object's ops: its fields (at most one op each) and its attributes. */
export const MAX_OPS_PER_FRAME = 10_000;

export function encodeSyncRequest(request: SyncRequest): Uint8Array {
  return encodeCbor({ v: GOSSIP_VERSION, ...request });
}

export function decodeSyncRequest(bytes: Uint8Array, maxBytes: number): SyncRequest {
  const m = decodeRecord(bytes, maxBytes);
  const digests = list(m, 'digests', MAX_SYNC_OBJECTS).map((entry) => {
    if (!Array.isArray(entry) || entry.length !== 2 || !isUuid(entry[0]) || typeof entry[1] !== 'string') {
      throw new GossipDecodeError('bad_field', 'digests');
    }
    return [entry[0], entry[1]] as [string, string];
  });
  return { worldId: uuid(m, 'worldId'), digests };
}

export function encodeSyncFrame(frame: SyncFrame): Uint8Array {
  return encodeCbor({ v: GOSSIP_VERSION, ...frame });
}

export function decodeSyncFrame(bytes: Uint8Array, maxBytes: number): SyncFrame {
  const m = decodeRecord(bytes, maxBytes);
  switch (m.t) {
    case 'ops':
      return {
        t: 'ops',
        ops: list(m, 'ops', MAX_OPS_PER_FRAME).map((op) => {
          if (!isRecord(op)) throw new GossipDecodeError('bad_field', 'ops');
          return readOp(op);
        }),
      };
    case 'more':
      return { t: 'more' };
    case 'end':
      return { t: 'end', objects: finite(m, 'objects') };
    case 'refused':
      return { t: 'refused', reason: text(m, 'reason', 200) };
    default:
      throw new GossipDecodeError('bad_kind', String(m.t));
  }
}

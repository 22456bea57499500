/**
 * World sync over `/odyssey/world-sync/1.0.0` (protocol/gossip/sync.ts): a node pulls from a trusted
 * peer every object of one world whose stamps differ from its own (all of them when it has none: a late
 * joiner), one object per frame, and applies each as ops through `WorldStore.apply`, so memory stays
 * bounded and a synced change is merged exactly like a gossiped or local one. Both sides pull from each
 * other, so after a partition each learns what the other missed.
 */
import { createHash } from 'node:crypto';
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { Logger } from 'pino';
import {
  decodeSyncFrame,
  decodeSyncRequest,
  encodeSyncFrame,
  encodeSyncRequest,
  type ObjectDigests,
  type WireOp,
  WORLD_SYNC_PROTOCOL,
} from '../../protocol/gossip/index.ts';
import type { AttributeRecord, ObjectFields, ObjectRecord } from '../../storage/db/records.ts';
import { parseStamp } from '../world/hlc.ts';
import type { WorldState, WorldStore } from '../world/world-store.ts';
import { toWorldOp } from './op-rules.ts';
import type { P2pHost } from './p2p-host.ts';
import type { Peers } from './peers.ts';

/** The actor of ops rebuilt from a peer's state: the original actor is not kept with the state. */
export const SYNC_ACTOR = 'sync';
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;
const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** A peer that sends nothing for this long is cut off. */
const READ_TIMEOUT_MS = 30_000;

export interface SyncResult {
  objects: number;
  changed: number;
}

export class SyncError extends Error {
  override readonly name = 'SyncError';
}

export class WorldSync {
  private readonly host: P2pHost;
  private readonly store: WorldStore;
  private readonly peers: Peers;
  private readonly log: Logger;
  private readonly maxClockSkewMs: number;

  constructor(
    components: { host: P2pHost; store: WorldStore; peers: Peers; logger: Logger },
    options: { maxClockSkewMs: number },
  ) {
    this.host = components.host;
    this.store = components.store;
    this.peers = components.peers;
    this.log = components.logger.child({ component: 'world-sync' });
    this.maxClockSkewMs = options.maxClockSkewMs;
  }

  async start(): Promise<void> {
    await this.host.handle(WORLD_SYNC_PROTOCOL, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: 8,
    });
  }

  async stop(): Promise<void> {
    await this.host.unhandle(WORLD_SYNC_PROTOCOL);
  }

  /** Pulls what `peer` has of `worldId` that this node lacks; applied as it arrives. */
  async pull(peer: PeerId, worldId: string): Promise<SyncResult> {
    const state = this.store.get(worldId);
    const stream = await this.host.dialProtocol(peer, WORLD_SYNC_PROTOCOL, {
      signal: AbortSignal.timeout(10_000),
    });
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    const result: SyncResult = { objects: 0, changed: 0 };
    try {
      await lp.write(encodeSyncRequest({ worldId, digests: state ? digestsOf(state) : [] }));
      for (;;) {
        const frame = decodeSyncFrame(
          (await lp.read({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) })).subarray(),
          MAX_FRAME_BYTES,
        );
        if (frame.t === 'refused') throw new SyncError(`peer refused sync of ${worldId}: ${frame.reason}`);
        if (frame.t === 'end') break;
        result.objects++;
        for (const wire of frame.ops) {
          if (wire.worldId !== worldId) throw new SyncError('op of another world in a sync stream');
          const op = toWorldOp(wire);
          const stamp = parseStamp(wire.stamp);
          if (!op || !stamp || stamp.wall > Date.now() + this.maxClockSkewMs) {
            this.peers.rejected(peer.toString(), 'bad_sync_op');
            continue;
          }
          if (await this.store.apply(op)) result.changed++;
        }
      }
      await stream.close();
    } catch (error) {
      stream.abort(error as Error);
      throw error;
    }
    this.log.debug({ peer: peer.toString(), worldId, ...result }, 'world synced');
    return result;
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES });
    try {
      const request = decodeSyncRequest(
        (await lp.read({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) })).subarray(),
        MAX_REQUEST_BYTES,
      );
      const state = this.store.get(request.worldId);
      if (!this.peers.isTrusted(peer)) {
        this.peers.rejected(peer, 'untrusted');
        await lp.write(encodeSyncFrame({ t: 'refused', reason: 'untrusted' }));
      } else if (!state) {
        await lp.write(encodeSyncFrame({ t: 'refused', reason: 'unknown_world' }));
      } else {
        let sent = 0;
        for (const ops of differingObjects(state, new Map(request.digests))) {
          await lp.write(encodeSyncFrame({ t: 'ops', ops }));
          sent++;
        }
        await lp.write(encodeSyncFrame({ t: 'end', objects: sent }));
      }
      await stream.close();
    } catch (error) {
      this.log.debug({ peer, err: error }, 'world sync stream failed');
      stream.abort(error as Error);
    }
  }
}

/** objectId → digest of every stamp the object and its attributes carry. */
export function digestsOf(state: WorldState): ObjectDigests {
  const attributes = attributesByObject(state);
  return Array.from(state.objects.values(), (o) => [o.id, digest(o, attributes.get(o.id))]);
}

function* differingObjects(state: WorldState, theirs: Map<string, string>): Generator<WireOp[]> {
  const attributes = attributesByObject(state);
  for (const object of state.objects.values()) {
    const own = attributes.get(object.id);
    if (theirs.get(object.id) === digest(object, own)) continue;
    yield objectOps(state.id, object, own ?? []);
  }
}

type NamedAttribute = [pluginId: string, name: string, record: AttributeRecord];

function attributesByObject(state: WorldState): Map<string, NamedAttribute[]> {
  const byObject = new Map<string, NamedAttribute[]>();
  for (const [k, record] of state.attributes) {
    const [objectId, pluginId, name] = k.split('!');
    const list = byObject.get(objectId);
    if (list) list.push([pluginId, name, record]);
    else byObject.set(objectId, [[pluginId, name, record]]);
  }
  return byObject;
}

function digest(object: ObjectRecord, attributes: NamedAttribute[] | undefined): string {
  const hash = createHash('sha256');
  for (const field of Object.keys(object.stamps).sort())
    hash.update(`${field}=${object.stamps[field as keyof ObjectFields]};`);
  const attrs = (attributes ?? []).map(([p, n, r]) => `${p}!${n}=${r.stamp};`).sort();
  for (const a of attrs) hash.update(a);
  return hash.digest('hex').slice(0, 24);
}

/** An object's state as ops: one per distinct field stamp (its fields together), one per attribute. */
export function objectOps(worldId: string, object: ObjectRecord, attributes: NamedAttribute[]): WireOp[] {
  const byStamp = new Map<string, Record<string, unknown>>();
  for (const [field, stamp] of Object.entries(object.stamps)) {
    if (!stamp) continue;
    const fields = byStamp.get(stamp) ?? {};
    fields[field] = object[field as keyof ObjectFields];
    byStamp.set(stamp, fields);
  }
  const ops: WireOp[] = [];
  for (const [stamp, fields] of byStamp) {
    const origin = parseStamp(stamp)?.nodeId ?? '';
    ops.push({ kind: 'object.put', worldId, objectId: object.id, fields, stamp, origin, actor: SYNC_ACTOR });
  }
  for (const [pluginId, name, record] of attributes) {
    ops.push({
      kind: 'attribute.put',
      worldId,
      objectId: object.id,
      pluginId,
      name,
      value: record.value,
      stamp: record.stamp,
      origin: parseStamp(record.stamp)?.nodeId ?? '',
      actor: SYNC_ACTOR,
    });
  }
  return ops;
}

/**
 * World sync over `/odyssey/world-sync/1.0.0` (protocol/gossip/sync.ts): a node pulls from a trusted
 * peer every object of one world whose stamps differ from its own (all of them when it has none: a late
 * joiner), one object per frame, and applies each as ops through `WorldStore.apply`, so memory stays
 * bounded and a synced change is merged exactly like a gossiped or local one. Both sides pull from each
 * other, so after a partition each learns what the other missed.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { Logger } from 'pino';
import {
  decodeSyncFrame,
  decodeSyncRequest,
  encodeSyncFrame,
  encodeSyncRequest,
  MAX_SYNC_OBJECTS,
  SYNC_WINDOW,
  type WireOp,
  WORLD_SYNC_PROTOCOL,
} from '../../protocol/gossip/index.ts';
import type { StagePut, WorldStore } from '../world/world-store.ts';
import type { Verdict } from './op-rules.ts';
import type { P2pHost } from './p2p-host.ts';
import type { Peers } from './peers.ts';
import { differingObjects, digestsOf } from './world-digests.ts';

const MAX_REQUEST_BYTES = 64 * 1024 * 1024;
const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/**
 * Object frames received and not yet applied, at most: past it they are applied before the window ends,
 * so what a window's batch holds stays near what one frame may be, not 128 times it.
 */
const MAX_PENDING_BYTES = MAX_FRAME_BYTES;
/** A peer that sends nothing for this long is cut off. */
const READ_TIMEOUT_MS = 30_000;

export interface SyncResult {
  objects: number;
  changed: number;
}

export class SyncError extends Error {
  override readonly name = 'SyncError';
  /** The world and peer of the pull, and for a bound the answer went over: the bound and how far it got. */
  readonly context: Record<string, string | number>;
  constructor(message: string, context: Record<string, string | number> = {}) {
    super(message);
    this.context = context;
  }
}

export interface WorldSyncOptions {
  /** A pull still running after this long is cut: a trusted answerer cannot keep it going for ever. */
  pullTimeoutMs: number;
  /**
   * Object frames one answer may bring, at most (default MAX_SYNC_OBJECTS: no world the protocol can sync
   * is larger, as no asker's request can list more digests); past it the pull is cut.
   */
  maxObjects?: number;
}

/** The op rules (op-rules.ts) as world sync applies them, bound to the node's state. */
export type SyncCheck = (op: WireOp, sender: string) => Promise<Verdict>;

export class WorldSync {
  private readonly host: P2pHost;
  private readonly store: WorldStore;
  private readonly peers: Peers;
  private readonly log: Logger;
  private readonly check: SyncCheck;
  private readonly withholds: (worldId: string) => boolean;
  private readonly pullTimeoutMs: number;
  private readonly maxObjects: number;

  constructor(
    components: {
      host: P2pHost;
      store: WorldStore;
      peers: Peers;
      logger: Logger;
      check: SyncCheck;
      /** True for a world stored here in part only (a mirror not pulled whole): answered as one not held. */
      withholds: (worldId: string) => boolean;
    },
    options: WorldSyncOptions,
  ) {
    this.host = components.host;
    this.store = components.store;
    this.peers = components.peers;
    this.log = components.logger.child({ component: 'world-sync' });
    this.check = components.check;
    this.withholds = components.withholds;
    this.pullTimeoutMs = options.pullTimeoutMs;
    this.maxObjects = options.maxObjects ?? MAX_SYNC_OBJECTS;
  }

  async start(): Promise<void> {
    await this.host.handle(WORLD_SYNC_PROTOCOL, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: 8,
    });
  }

  async stop(): Promise<void> {
    await this.host.unhandle(WORLD_SYNC_PROTOCOL);
  }

  /**
   * Pulls what `peer` has of `worldId` that this node lacks, applied as it arrives: a window's objects
   * (or MAX_PENDING_BYTES of them) in one write. An answer of more than `maxObjects` objects, or a pull
   * past `pullTimeoutMs`, is cut (SyncError, the peer counted as rejected); what came before it stays.
   */
  async pull(peer: PeerId, worldId: string): Promise<SyncResult> {
    const state = this.store.peek(worldId);
    const sender = peer.toString();
    const deadline = AbortSignal.timeout(this.pullTimeoutMs);
    const stream = await this.host.dialProtocol(peer, WORLD_SYNC_PROTOCOL, {
      signal: AbortSignal.any([deadline, AbortSignal.timeout(10_000)]),
    });
    // The deadline cuts whatever the pull waits on (a read, a write, the close) by resetting the stream.
    const cutAtDeadline = () => stream.abort(new Error('world sync pull past its deadline'));
    deadline.addEventListener('abort', cutAtDeadline, { once: true });
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
    const result: SyncResult = { objects: 0, changed: 0 };
    const pending: WireOp[][] = [];
    let pendingBytes = 0;
    const applyPending = async () => {
      if (!pending.length) return;
      const frames = pending.splice(0);
      pendingBytes = 0;
      result.changed += await this.applyFrames(worldId, frames, sender);
    };
    const overBound = (reason: 'too_many_objects' | 'deadline') => {
      const bound: Record<string, number> =
        reason === 'deadline' ? { timeoutMs: this.pullTimeoutMs } : { maxObjects: this.maxObjects };
      const error = new SyncError(`world sync answer over its bound (${reason}): pull cut`, {
        reason,
        worldId,
        peer: sender,
        objects: result.objects,
        ...bound,
      });
      this.peers.rejected(sender, `sync_${reason}`);
      this.log.warn(error.context, 'world sync answer over its bound: pull cut');
      return error;
    };
    try {
      await lp.write(encodeSyncRequest({ worldId, digests: state ? digestsOf(state) : [] }));
      for (;;) {
        const bytes = (await lp.read({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) })).subarray();
        // A frame read as the deadline passed is not applied.
        if (deadline.aborted) throw overBound('deadline');
        const frame = decodeSyncFrame(bytes, MAX_FRAME_BYTES);
        if (frame.t === 'refused')
          throw new SyncError(`peer refused sync of ${worldId}: ${frame.reason}`, { worldId, peer: sender });
        if (frame.t === 'end') break;
        if (frame.t !== 'ops')
          throw new SyncError(`unexpected ${frame.t} frame from the answerer`, { worldId, peer: sender });
        if (result.objects >= this.maxObjects) throw overBound('too_many_objects');
        result.objects++;
        pending.push(frame.ops);
        pendingBytes += bytes.byteLength;
        const windowDone = result.objects % SYNC_WINDOW === 0;
        if (windowDone || pendingBytes >= MAX_PENDING_BYTES) await applyPending();
        if (windowDone) await lp.write(encodeSyncFrame({ t: 'more' }));
      }
      await applyPending();
      // The answer is whole and applied: the deadline cuts nothing more, and a close that fails loses nothing.
      deadline.removeEventListener('abort', cutAtDeadline);
      await stream
        .close({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) })
        .catch((error: unknown) => stream.abort(error as Error));
    } catch (thrown) {
      // A read or write cut by the deadline fails as the stream was reset: the bound is what happened.
      const error = deadline.aborted && !(thrown instanceof SyncError) ? overBound('deadline') : thrown;
      stream.abort(error as Error);
      // What arrived before the failure is applied, as it was when every frame was applied on arrival.
      await applyPending().catch((e: unknown) =>
        this.log.warn(
          { peer: sender, worldId, err: e },
          'world sync: what arrived before a failure not applied',
        ),
      );
      throw error;
    } finally {
      deadline.removeEventListener('abort', cutAtDeadline);
    }
    this.log.debug({ peer: sender, worldId, ...result }, 'world synced');
    return result;
  }

  /** Applies object frames in one batch (WorldStore.applyBatch), each checked against what came before. */
  private applyFrames(worldId: string, frames: WireOp[][], sender: string): Promise<number> {
    return this.store.applyBatch(worldId, async (put) => {
      let changed = 0;
      for (const ops of frames) changed += await this.applyObject(worldId, ops, sender, put);
      return changed;
    });
  }

  /**
   * Applies one object's ops, oldest first, each checked by the op rules like a gossiped op. An object new
   * here is judged as a whole first: its oldest op, with every field the peer has for it, must be a
   * creation its actor may make.
   */
  private async applyObject(
    worldId: string,
    frame: WireOp[],
    sender: string,
    put: StagePut,
  ): Promise<number> {
    // One object per frame, as answerers send them: a frame of many would make the object-wide checks
    // below (and the peer's "judged as a whole") mean nothing, and cost them once per op.
    const objectId = frame[0]?.objectId;
    if (frame.some((op) => op.objectId !== objectId)) {
      this.peers.rejected(sender, 'sync_several_objects');
      throw new SyncError('ops of several objects in one sync frame', { worldId, peer: sender });
    }
    const ops = [...frame].sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
    let changed = 0;
    let creationRefused = false;
    let allFields: Record<string, unknown> | undefined;
    for (const wire of ops) {
      if (wire.worldId !== worldId)
        throw new SyncError('op of another world in a sync stream', { worldId, peer: sender });
      // An object whose creation was refused gets none of its later ops either.
      if (creationRefused) break;
      let judged: WireOp = wire;
      const isNew = wire.kind === 'object.put' && !this.store.peek(worldId)?.objects.has(wire.objectId);
      if (wire.kind === 'object.put' && isNew) {
        if (!allFields) {
          allFields = {};
          for (const o of ops) if (o.kind === 'object.put') Object.assign(allFields, o.fields);
        }
        judged = { ...wire, fields: allFields };
      }
      const verdict = await this.check(judged, sender);
      if (verdict.verdict !== 'accept') {
        if (isNew) creationRefused = true;
        if (verdict.verdict === 'reject') this.peers.rejected(sender, `sync_${verdict.reason}`);
        continue;
      }
      // A creation was judged with all of the object's fields; what is applied is this op's own.
      const op =
        verdict.op.kind === 'object.put' && wire.kind === 'object.put'
          ? { ...verdict.op, fields: pick(verdict.op.fields, Object.keys(wire.fields)) }
          : verdict.op;
      if (put(op)) changed++;
    }
    return changed;
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    try {
      if (!this.peers.isTrusted(peer)) {
        // Refused before a byte of the request is read: an untrusted peer costs no memory here.
        this.peers.rejected(peer, 'untrusted');
        await lpStream(stream, { maxDataLength: 1024 }).write(
          encodeSyncFrame({ t: 'refused', reason: 'untrusted' }),
        );
        await stream.close({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
        return;
      }
      const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES });
      const request = decodeSyncRequest(
        (await lp.read({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) })).subarray(),
        MAX_REQUEST_BYTES,
      );
      // A part of a world streamed as if it were all of it would end the asker's pull as complete.
      const state = this.withholds(request.worldId) ? undefined : this.store.get(request.worldId);
      if (!state) {
        await lp.write(encodeSyncFrame({ t: 'refused', reason: 'unknown_world' }));
      } else {
        let sent = 0;
        for (const ops of differingObjects(state, new Map(request.digests))) {
          await lp.write(encodeSyncFrame({ t: 'ops', ops }));
          sent++;
          if (sent % SYNC_WINDOW === 0) {
            const next = decodeSyncFrame(
              (await lp.read({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) })).subarray(),
              MAX_FRAME_BYTES,
            );
            if (next.t !== 'more') throw new SyncError(`expected more, got ${next.t}`);
          }
        }
        await lp.write(encodeSyncFrame({ t: 'end', objects: sent }));
      }
      // Bounded: an asker that stops reading would otherwise hold this handler until the connection dies.
      await stream.close({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
    } catch (error) {
      this.log.debug({ peer, err: error }, 'world sync stream failed');
      stream.abort(error as Error);
    }
  }
}

function pick<T extends object>(record: T, keys: string[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys)
    if (k in record) (out as Record<string, unknown>)[k] = (record as Record<string, unknown>)[k];
  return out;
}

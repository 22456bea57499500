/**
 * Asset records across nodes: `/odyssey/asset-record/1.0.0`, one request and one answer per stream.
 *
 * Why it exists: an object names its model by UMID (PosBus carries 16 bytes), and a UMID is a truncated
 * hash of the CID, so the CID cannot be computed from it; only a node that has the record knows it. The
 * asker sends `{"umid"}` and a trusted peer that has the record answers `{"record": {cid, name, kind,
 * size, createdAt, uploader}}` (or `{"missing": true}`). Everything in it that the asker can check, it
 * checks: the CID must hash to the UMID (umidOf), and once the bytes are here the size comes from the
 * UnixFS root and the MIME type from the first bytes (asset-fetcher.ts). The name, the kind among those the
 * format allows, the uploader id and the creation time stay the peer's word. JSON, ≤ 4 KiB each way.
 *
 * The same stream also answers `{"list": {"after"?}}` with a page of the CIDs it holds in CID order,
 * `{"cids": [...], "next"?}` (what a node pinning everything its trusted peers hold reads), and a
 * node answers "which peers hold this asset" by asking every trusted peer for its record at once.
 */
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { CID } from 'multiformats/cid';
import type { Logger } from 'pino';
import type { AssetStore } from '../../storage/assets/asset-store.ts';
import { normalizeUmid, umidOf } from '../../storage/assets/ids.ts';
import type { AssetKind } from '../../storage/assets/sniff.ts';

export const ASSET_RECORD_PROTOCOL = '/odyssey/asset-record/1.0.0';
const MAX_MESSAGE_BYTES = 4096;
const KINDS: readonly string[] = ['model', 'texture', 'skybox', 'image'];
/** CIDs per list page: 50 CIDs of ~60 characters stay well under MAX_MESSAGE_BYTES. */
const LIST_PAGE = 50;

/** One trusted peer's answer to "do you hold this asset?". */
export interface ProviderAnswer {
  peer: string;
  holds: boolean;
  /** Set when the peer did not answer in time, or its answer was refused. */
  error?: string;
}

/** What a peer says about an asset; the CID is checked against the UMID, the rest is its word. */
export interface PeerAssetRecord {
  cid: string;
  name: string;
  kind: AssetKind;
  size: number;
  uploader: string;
  createdAt: number;
  /** The peer that answered. */
  from: string;
}

export class AssetRecordExchange {
  private readonly host: Libp2p;
  private readonly assets: AssetStore;
  private readonly isTrusted: (peerId: string) => boolean;
  private readonly log: Logger;

  constructor(c: {
    host: Libp2p;
    assets: AssetStore;
    isTrusted: (peerId: string) => boolean;
    logger: Logger;
  }) {
    this.host = c.host;
    this.assets = c.assets;
    this.isTrusted = c.isTrusted;
    this.log = c.logger.child({ component: 'asset-records' });
  }

  async start(): Promise<void> {
    await this.host.handle(ASSET_RECORD_PROTOCOL, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: 32,
    });
  }

  async stop(): Promise<void> {
    await this.host.unhandle(ASSET_RECORD_PROTOCOL);
  }

  /** True when some trusted peer is connected: someone to fetch from. */
  hasTrustedPeers(): boolean {
    return this.host.getPeers().some((p) => this.isTrusted(p.toString()));
  }

  /** The connected trusted peers. */
  trustedPeers(): string[] {
    return this.host
      .getPeers()
      .map((p) => p.toString())
      .filter((p) => this.isTrusted(p));
  }

  /** Asks every connected trusted peer whether it holds the asset; all answers, when `signal` allows. */
  async providers(umid: string, signal: AbortSignal): Promise<ProviderAnswer[]> {
    const peers = this.host.getPeers().filter((p) => this.isTrusted(p.toString()));
    return Promise.all(
      peers.map(async (peer): Promise<ProviderAnswer> => {
        try {
          return { peer: peer.toString(), holds: !!(await this.ask(peer, umid, signal)) };
        } catch (error) {
          const reason = signal.aborted ? 'no answer in time' : (error as Error).message;
          return { peer: peer.toString(), holds: false, error: reason };
        }
      }),
    );
  }

  /** A page of the CIDs `peer` holds, after `after` (in CID order); `next` when there are more. */
  async list(
    peer: string,
    after: string | undefined,
    signal: AbortSignal,
  ): Promise<{ cids: string[]; next?: string }> {
    const target = this.host.getPeers().find((p) => p.toString() === peer);
    if (!target) return { cids: [] };
    const answer = (await this.exchange(target, { list: after ? { after } : {} }, signal)) as {
      cids?: unknown;
      next?: unknown;
    } | null;
    const cids = Array.isArray(answer?.cids)
      ? answer.cids.filter((c): c is string => typeof c === 'string' && !!parseCidText(c)).slice(0, LIST_PAGE)
      : [];
    const next = typeof answer?.next === 'string' && cids.length ? answer.next : undefined;
    return { cids, next };
  }

  /** Asks every connected trusted peer at once; the first checked answer wins, undefined if none has it. */
  async lookup(umid: string, signal: AbortSignal): Promise<PeerAssetRecord | undefined> {
    const peers = this.host.getPeers().filter((p) => this.isTrusted(p.toString()));
    if (!peers.length) return undefined;
    try {
      return await Promise.any(
        peers.map(async (peer) => {
          const record = await this.ask(peer, umid, signal);
          if (!record) throw new Error('missing');
          return record;
        }),
      );
    } catch {
      signal.throwIfAborted();
      return undefined;
    }
  }

  private async ask(peer: PeerId, umid: string, signal: AbortSignal): Promise<PeerAssetRecord | undefined> {
    const answer = (await this.exchange(peer, { umid }, signal)) as { missing?: unknown } | null;
    const record = checkAnswer(answer, umid, peer.toString());
    if (!record && !answer?.missing)
      this.log.warn({ peer: peer.toString(), umid }, 'bad asset record answer');
    return record;
  }

  /** One request, one answer (parsed JSON) on a new stream. */
  private async exchange(peer: PeerId, request: unknown, signal: AbortSignal): Promise<unknown> {
    const stream = await this.host.dialProtocol(peer, ASSET_RECORD_PROTOCOL, { signal });
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES });
    try {
      await lp.write(Buffer.from(JSON.stringify(request)), { signal });
      const answer = JSON.parse(Buffer.from((await lp.read({ signal })).subarray()).toString('utf8'));
      await stream.close();
      return answer;
    } catch (error) {
      stream.abort(error as Error);
      throw error;
    }
  }

  /** A page of the CIDs this node holds, after `after` when it is a string of sane length. */
  private async listPage(after: unknown): Promise<{ cids: string[]; next?: string }> {
    const from = typeof after === 'string' && after.length <= 200 ? after : undefined;
    const page = await this.assets.list({ after: from, limit: LIST_PAGE });
    const cids = page.assets.map((record) => record.cid);
    return page.next ? { cids, next: page.next } : { cids };
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES });
      if (!this.isTrusted(peer)) {
        // Refused before the request is read: records are for trusted peers only.
        await lp.write(Buffer.from(JSON.stringify({ refused: 'untrusted' })));
        await stream.close();
        return;
      }
      const request = JSON.parse(
        Buffer.from((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray()).toString('utf8'),
      );
      if (request?.list && typeof request.list === 'object') {
        await lp.write(Buffer.from(JSON.stringify(await this.listPage(request.list.after))));
        await stream.close();
        return;
      }
      const umid = typeof request?.umid === 'string' ? normalizeUmid(request.umid) : undefined;
      const record = umid ? await this.assets.resolve({ umid }) : undefined;
      const answer = record
        ? {
            record: {
              cid: record.cid,
              name: record.name,
              kind: record.kind,
              size: record.size,
              uploader: record.uploader,
              createdAt: record.createdAt,
            },
          }
        : { missing: true };
      await lp.write(Buffer.from(JSON.stringify(answer)));
      await stream.close();
    } catch (error) {
      this.log.debug({ peer, err: error }, 'asset record stream failed');
      stream.abort(error as Error);
    }
  }
}

/** Parsed CID text, or undefined. */
function parseCidText(text: string): CID | undefined {
  try {
    return CID.parse(text);
  } catch {
    return undefined;
  }
}

/** A well-formed answer whose CID hashes to the UMID asked for, or undefined. */
function checkAnswer(answer: unknown, umid: string, from: string): PeerAssetRecord | undefined {
  const r = (answer as { record?: Record<string, unknown> } | null)?.record;
  if (!r || typeof r.cid !== 'string') return undefined;
  let cid: CID;
  try {
    cid = CID.parse(r.cid).toV1();
  } catch {
    return undefined;
  }
  if (umidOf(cid) !== umid) return undefined;
  const text = (v: unknown, max: number) => (typeof v === 'string' && v.length <= max ? v : undefined);
  const count = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
  const kind = text(r.kind, 16);
  return {
    cid: cid.toString(),
    name: text(r.name, 255) ?? 'asset',
    kind: (kind && KINDS.includes(kind) ? kind : 'model') as AssetKind,
    size: count(r.size) ?? 0,
    uploader: text(r.uploader, 200) ?? '',
    createdAt: count(r.createdAt) ?? Date.now(),
    from,
  };
}

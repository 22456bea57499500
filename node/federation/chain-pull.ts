/**
 * Chain pull over `/odyssey/chain-blocks/1.0.0` (protocol/gossip/chain-pull.ts): the federation's side of
 * gap fill. Asking: a `source: peers` chain that missed publications asks every connected trusted peer,
 * in parallel, for the blocks of a range; each well-formed answer's blocks go to the harvester exactly as
 * gossiped blocks from that peer do (`receivePeerBlock`: distrust, chain and kind checks, one vote per peer
 * and height), so a quorum still needs that many distinct trusted peers. An answer that breaks the
 * protocol (malformed, oversized, out of range, too slow) is dropped whole, counted against the peer
 * (`pull_<reason>`) and logged; nothing of it is voted. Answering: only to trusted peers, only for chains
 * this node reads through its own RPC, from committed blocks; at most MAX_ANSWERS_PER_PEER answers per
 * peer at once (further streams are refused `busy`), a request read within REQUEST_TIMEOUT_MS. A bad
 * request is refused with its reason (a `refused` frame) and counted against the peer
 * (`pull_request_<reason>`); a stream that stalls or breaks is cut.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import type { Logger } from 'pino';
import type { ChainGapFiller } from '../../harvester/peers/sharing.ts';
import {
  CHAIN_PULL_PROTOCOL,
  type ChainBlockAnnouncement,
  type ChainPullRequest,
  decodeChainPullFrame,
  decodeChainPullRequest,
  encodeChainPullFrame,
  encodeChainPullRequest,
  GossipDecodeError,
  MAX_PULL_ANSWER_BYTES,
  MAX_PULL_RANGE,
  MAX_PULL_REQUEST_BYTES,
  PullAnswerReader,
} from '../../protocol/gossip/index.ts';
import type { P2pHost } from './p2p-host.ts';
import type { Peers } from './peers.ts';
import type { SharedChains } from './shared-chains.ts';

/** A whole answer must arrive within this; a peer that stalls is cut off and the others still count. */
export const PULL_TIMEOUT_MS = 15_000;
/** A request is one frame of at most MAX_PULL_REQUEST_BYTES: a peer that has not sent it by then stalls. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** Answers one peer may have in flight at once; its further streams are refused `busy` unread. */
export const MAX_ANSWERS_PER_PEER = 4;
/**
 * Streams libp2p lets in per connection: above MAX_ANSWERS_PER_PEER so that a peer over its share gets a
 * clear `busy`, and bounded so that a flood beyond it is reset by libp2p before any of ours runs.
 */
const MAX_INBOUND_STREAMS = 4 * MAX_ANSWERS_PER_PEER;
const DIAL_TIMEOUT_MS = 5_000;
/** Refusals that say only that this node cannot answer for that chain: no fault of the asker. */
const HONEST_REFUSALS = new Set(['unknown_chain', 'not_read_here']);
/** Requests one catch-up makes of one peer (each up to MAX_PULL_RANGE heights). */
const MAX_ROUNDS = 16;
/** After a trusted peer connects, the wait before catching up (its protocols are known by then). */
const CONNECT_SETTLE_MS = 500;
/** Frame bytes beyond the block itself (frame kind, version). */
const FRAME_OVERHEAD = 1024;

interface Answer {
  blocks: ChainBlockAnnouncement[];
  next: number;
  head: number | null;
  oldest: number | null;
}

export class ChainPull implements ChainGapFiller {
  private readonly host: P2pHost;
  private readonly peers: Peers;
  private readonly chains: SharedChains;
  private readonly log: Logger;
  private readonly maxFrameBytes: number;
  private settle: NodeJS.Timeout | undefined;
  /** Answers in flight per asking peer (MAX_ANSWERS_PER_PEER). */
  private readonly answering = new Map<string, number>();
  private readonly onConnect = (event: CustomEvent<PeerId>) => {
    if (!this.peers.isTrusted(event.detail.toString())) return;
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.chains.peersAvailable(), CONNECT_SETTLE_MS);
    this.settle.unref();
  };

  constructor(
    components: { host: P2pHost; peers: Peers; chains: SharedChains; logger: Logger },
    options: { maxMessageBytes: number },
  ) {
    this.host = components.host;
    this.peers = components.peers;
    this.chains = components.chains;
    this.log = components.logger.child({ component: 'chain-pull' });
    this.maxFrameBytes = options.maxMessageBytes + FRAME_OVERHEAD;
  }

  async start(): Promise<void> {
    await this.host.handle(CHAIN_PULL_PROTOCOL, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
    });
    this.host.addEventListener('peer:connect', this.onConnect);
    this.chains.setGapFiller(this);
    // Peers already connected (the host was started before federation) count as just arrived.
    if (this.host.getPeers().some((p) => this.peers.isTrusted(p.toString()))) this.chains.peersAvailable();
  }

  async stop(): Promise<void> {
    clearTimeout(this.settle);
    this.chains.setGapFiller(undefined);
    this.host.removeEventListener('peer:connect', this.onConnect);
    await this.host.unhandle(CHAIN_PULL_PROTOCOL);
  }

  /** Asks every connected trusted peer for `from..to` (to null: up to the head each reports). */
  async fill(chainId: string, from: number, to: number | null, signal: AbortSignal): Promise<void> {
    const peers = this.host.getPeers().filter((p) => this.peers.isTrusted(p.toString()));
    await Promise.allSettled(peers.map((peer) => this.pullFrom(peer, chainId, from, to, signal)));
  }

  private async pullFrom(
    peer: PeerId,
    chainId: string,
    from: number,
    to: number | null,
    signal: AbortSignal,
  ): Promise<void> {
    const name = peer.toString();
    let next = from;
    try {
      for (let round = 0; round < MAX_ROUNDS && !signal.aborted; round++) {
        const last = Math.min(to ?? Number.MAX_SAFE_INTEGER, next + MAX_PULL_RANGE - 1);
        if (last < next) return;
        const answer = await this.ask(peer, { chainId, from: next, to: last }, signal);
        if (!answer) return;
        for (const block of answer.blocks) {
          const verdict = await this.chains.receivePeerBlock(block, name);
          if (typeof verdict === 'object') this.peers.rejected(name, `pull_${verdict.reject}`);
          else if (verdict === 'accept') this.peers.accepted(name);
        }
        // Below what the peer keeps it cannot answer: go on from there.
        next = Math.max(answer.next, answer.oldest ?? 0);
        if (next > (to ?? answer.head ?? -1)) return;
      }
    } catch (error) {
      if (signal.aborted) return;
      const reason = reasonOf(error);
      if (reason) this.peers.rejected(name, `pull_${reason}`);
      this.log.warn(
        { peer: name, chainId, from: next, to, reason: reason ?? 'unreachable', err: error },
        'a peer’s answer to a chain pull was refused; nothing of it counted',
      );
    }
  }

  /** One request and its answer, checked whole before any block of it is used; null when refused. */
  private async ask(peer: PeerId, request: ChainPullRequest, signal: AbortSignal): Promise<Answer | null> {
    const stream = await this.host.dialProtocol(peer, CHAIN_PULL_PROTOCOL, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]),
    });
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(PULL_TIMEOUT_MS)]);
    const lp = lpStream(stream, { maxDataLength: this.maxFrameBytes });
    try {
      await lp.write(encodeChainPullRequest(request), { signal: deadline });
      const reader = new PullAnswerReader(request);
      for (;;) {
        const bytes = (await lp.read({ signal: deadline })).subarray();
        const frame = decodeChainPullFrame(bytes, this.maxFrameBytes);
        if (frame.t === 'block') {
          reader.block(frame.block, bytes.byteLength);
          continue;
        }
        await stream.close();
        if (frame.t === 'refused') {
          this.log.debug({ peer: peer.toString(), ...request, reason: frame.reason }, 'chain pull refused');
          return null;
        }
        reader.end(frame);
        return { blocks: reader.blocks, next: frame.next, head: frame.head, oldest: frame.oldest };
      }
    } catch (error) {
      stream.abort(error as Error);
      throw error;
    }
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString();
    const lp = lpStream(stream, { maxDataLength: MAX_PULL_REQUEST_BYTES });
    // Both refusals come before a byte of the request is read: they cost the asker's stream only.
    if (!this.peers.isTrusted(peer)) {
      this.peers.rejected(peer, 'untrusted');
      await refuse(lp, stream, 'untrusted');
      return;
    }
    const inFlight = this.answering.get(peer) ?? 0;
    if (inFlight >= MAX_ANSWERS_PER_PEER) {
      this.peers.rejected(peer, 'pull_request_busy');
      await refuse(lp, stream, 'busy');
      return;
    }
    this.answering.set(peer, inFlight + 1);
    try {
      await this.answer(peer, stream, lp);
    } finally {
      const left = (this.answering.get(peer) ?? 1) - 1;
      if (left > 0) this.answering.set(peer, left);
      else this.answering.delete(peer);
    }
  }

  private async answer(peer: string, stream: Stream, lp: ReturnType<typeof lpStream>): Promise<void> {
    try {
      const bytes = await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const request = decodeChainPullRequest(bytes.subarray());
      const deadline = AbortSignal.timeout(PULL_TIMEOUT_MS);
      const answer = await this.chains.answerPeerPull(request);
      if ('refused' in answer) {
        // "Not a chain I read" is an honest answer to an honest question (askers ask every trusted peer):
        // not held against the peer, or the rejection counts would fill with normal running.
        if (!HONEST_REFUSALS.has(answer.refused)) this.peers.rejected(peer, `pull_request_${answer.refused}`);
        await lp.write(encodeChainPullFrame({ t: 'refused', reason: answer.refused }), { signal: deadline });
      } else {
        let bytes = 0;
        let next = answer.next;
        for (const block of answer.blocks) {
          const frame = encodeChainPullFrame({ t: 'block', block });
          // Too large for a frame: not publishable by gossip either; the asker sees a gap.
          if (frame.byteLength > this.maxFrameBytes) continue;
          if (bytes > 0 && bytes + frame.byteLength > MAX_PULL_ANSWER_BYTES) {
            next = block.number;
            break;
          }
          bytes += frame.byteLength;
          await lp.write(frame, { signal: deadline });
        }
        const end = { t: 'end' as const, next, head: answer.head, oldest: answer.oldest };
        await lp.write(encodeChainPullFrame(end), { signal: deadline });
      }
      // Bounded too: an asker that stops reading would otherwise hold this handler until the connection dies.
      await stream.close({ signal: deadline });
    } catch (error) {
      const reason = reasonOf(error);
      if (reason) this.peers.rejected(peer, `pull_request_${reason}`);
      this.log.debug({ peer, reason, err: error }, 'chain pull request failed');
      // A request that arrived but was bad (malformed, too wide, oversized) gets its reason, so that the
      // asker can tell; a stream that stalled or broke is cut.
      if (reason && (error instanceof GossipDecodeError || reason === 'too_large'))
        await refuse(lp, stream, reason);
      else stream.abort(error as Error);
    }
  }
}

/** A `refused` frame and the end of the stream, bounded: an asker that does not read is cut off. */
async function refuse(lp: ReturnType<typeof lpStream>, stream: Stream, reason: string): Promise<void> {
  const deadline = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  try {
    await lp.write(encodeChainPullFrame({ t: 'refused', reason }), { signal: deadline });
    await stream.close({ signal: deadline });
  } catch (error) {
    stream.abort(error as Error);
  }
}

/** Why an answer was refused, when the peer is to blame; null for a peer that is merely unreachable. */
function reasonOf(error: unknown): string | null {
  if (error instanceof GossipDecodeError) return error.reason;
  const name = (error as Error | undefined)?.name;
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') return 'too_large';
  if (name === 'TimeoutError') return 'timeout';
  if (name === 'UnexpectedEOFError') return 'truncated';
  return null;
}

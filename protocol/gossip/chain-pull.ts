/**
 * Chain pull, a request/response protocol that fills the gaps gossip leaves: a node that follows a chain
 * through peers asks a trusted peer for the blocks it published (or would have) in a range of heights;
 * the peer answers with the blocks in that range that had events, ascending, one per frame, then an end
 * frame telling where its answer stopped and how far it has processed. Each frame is length-prefixed
 * CBOR. The asker counts every block of an answer as that peer's vote, as if it had come by gossip.
 *
 * Bounded on both sides: a request names at most MAX_PULL_RANGE heights, an answer holds at most
 * MAX_PULL_BLOCKS blocks and MAX_PULL_ANSWER_BYTES bytes (the answerer stops early and says so in
 * `next`). `PullAnswerReader` checks an answer frame by frame against its request, so a peer that sends
 * blocks out of the range, out of order, of another chain or too many is refused with a clear reason.
 * Pure: no I/O, nothing of the node's.
 */
import { type ChainBlockAnnouncement, readChainBlock } from './chain.ts';
import {
  decodeRecord,
  encodeCbor,
  finite,
  GOSSIP_VERSION,
  GossipDecodeError,
  isRecord,
  text,
} from './codec.ts';

export const CHAIN_PULL_PROTOCOL = '/odyssey/chain-blocks/1.0.0';

/** Heights one request may name (more than the default reorg window a peer keeps blocks for). */
export const MAX_PULL_RANGE = 4096;
/** Blocks (with events) in one answer. */
export const MAX_PULL_BLOCKS = 64;
/** Bytes of one answer's block frames together; the answerer stops before going over. */
export const MAX_PULL_ANSWER_BYTES = 8 * 1024 * 1024;
/** The largest request frame: a chain id and two numbers. */
export const MAX_PULL_REQUEST_BYTES = 1024;

const CHAIN_ID = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,64}$/;
const MAX_BLOCK = 2 ** 48;

export interface ChainPullRequest {
  chainId: string;
  /** First height asked for, inclusive. */
  from: number;
  /** Last height asked for, inclusive; `to - from + 1` ≤ MAX_PULL_RANGE. */
  to: number;
}

export type ChainPullFrame =
  | { t: 'block'; block: ChainBlockAnnouncement }
  /**
   * `next`: the first height this answer does not cover (`to + 1` when complete, lower when the answerer
   * stopped at its bounds); `head`: the highest block the answerer processed; `oldest`: the lowest it still
   * keeps (null: none), below which it cannot answer.
   */
  | { t: 'end'; next: number; head: number | null; oldest: number | null }
  | { t: 'refused'; reason: string };

export function encodeChainPullRequest(request: ChainPullRequest): Uint8Array {
  return encodeCbor({ v: GOSSIP_VERSION, ...request });
}

export function decodeChainPullRequest(bytes: Uint8Array): ChainPullRequest {
  const m = decodeRecord(bytes, MAX_PULL_REQUEST_BYTES);
  const chainId = text(m, 'chainId', 80);
  if (!CHAIN_ID.test(chainId)) throw new GossipDecodeError('bad_field', 'chainId');
  const from = height(m, 'from');
  const to = height(m, 'to');
  if (to < from || to - from + 1 > MAX_PULL_RANGE) throw new GossipDecodeError('bad_range', `${from}..${to}`);
  return { chainId, from, to };
}

export function encodeChainPullFrame(frame: ChainPullFrame): Uint8Array {
  return encodeCbor({ v: GOSSIP_VERSION, ...frame });
}

export function decodeChainPullFrame(bytes: Uint8Array, maxBytes: number): ChainPullFrame {
  const m = decodeRecord(bytes, maxBytes);
  switch (m.t) {
    case 'block':
      if (!isRecord(m.block)) throw new GossipDecodeError('bad_field', 'block');
      return { t: 'block', block: readChainBlock(m.block) };
    case 'end':
      return { t: 'end', next: height(m, 'next'), head: orNull(m, 'head'), oldest: orNull(m, 'oldest') };
    case 'refused':
      return { t: 'refused', reason: text(m, 'reason', 200) };
    default:
      throw new GossipDecodeError('bad_kind', String(m.t));
  }
}

/**
 * Checks one answer against its request as its frames arrive: blocks of the asked chain, inside the range,
 * strictly ascending, at most MAX_PULL_BLOCKS of them and MAX_PULL_ANSWER_BYTES in all; an end whose `next`
 * is past the last block and inside the range (past `from`: every answer makes progress). Throws GossipDecodeError with the reason otherwise.
 */
export class PullAnswerReader {
  private readonly request: ChainPullRequest;
  private last = -1;
  private bytes = 0;
  readonly blocks: ChainBlockAnnouncement[] = [];

  constructor(request: ChainPullRequest) {
    this.request = request;
  }

  block(block: ChainBlockAnnouncement, frameBytes: number): void {
    const { chainId, from, to } = this.request;
    if (block.chainId !== chainId) throw new GossipDecodeError('wrong_chain', block.chainId);
    if (block.number < from || block.number > to)
      throw new GossipDecodeError('out_of_range', `${block.number} not in ${from}..${to}`);
    if (block.number <= this.last) throw new GossipDecodeError('not_ascending', String(block.number));
    if (this.blocks.length >= MAX_PULL_BLOCKS) throw new GossipDecodeError('too_many_blocks');
    this.bytes += frameBytes;
    if (this.bytes > MAX_PULL_ANSWER_BYTES) throw new GossipDecodeError('too_large', 'answer');
    this.last = block.number;
    this.blocks.push(block);
  }

  end(frame: { next: number }): void {
    const { from, to } = this.request;
    if (frame.next <= this.last || frame.next <= from || frame.next > to + 1)
      throw new GossipDecodeError('bad_end', `next ${frame.next} for ${from}..${to}`);
  }
}

function height(m: Record<string, unknown>, field: string): number {
  const n = finite(m, field);
  if (!Number.isInteger(n) || n < 0 || n > MAX_BLOCK) throw new GossipDecodeError('bad_field', field);
  return n;
}

function orNull(m: Record<string, unknown>, field: string): number | null {
  return m[field] === null ? null : height(m, field);
}

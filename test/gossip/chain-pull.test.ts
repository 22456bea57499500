/**
 * The chain pull's wire format: requests and frames round-trip; a malformed, oversized or out-of-bounds
 * request or frame, and an answer that breaks its request (another chain, out of range, out of order, too
 * many blocks or bytes, a bad end), give GossipDecodeError with the reason, never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChainBlockAnnouncement,
  type ChainPullRequest,
  decodeChainPullFrame,
  decodeChainPullRequest,
  encodeCbor,
  encodeChainPullFrame,
  encodeChainPullRequest,
  GossipDecodeError,
  MAX_PULL_ANSWER_BYTES,
  MAX_PULL_BLOCKS,
  MAX_PULL_RANGE,
  PullAnswerReader,
} from '../../protocol/gossip/index.ts';

const MAX = 1 << 20;
const CHAIN = 'eip155:31337';
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
const blockAt = (number: number, chainId = CHAIN): ChainBlockAnnouncement => ({
  chainId,
  number,
  hash: hash(number),
  link: number > 0 ? { number: number - 1, hash: hash(number - 1) } : null,
  events: [],
});

const reasonOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GossipDecodeError);
    return (error as GossipDecodeError).reason;
  }
  throw new Error('expected a GossipDecodeError');
};

describe('chain pull requests', () => {
  it('round-trip', () => {
    const request: ChainPullRequest = { chainId: CHAIN, from: 10, to: 10 + MAX_PULL_RANGE - 1 };
    expect(decodeChainPullRequest(encodeChainPullRequest(request))).toEqual(request);
  });

  it('refuse a range that is reversed, too wide or negative, a bad chain id and oversized bytes', () => {
    const bad = (over: Record<string, unknown>) =>
      reasonOf(() => decodeChainPullRequest(encodeCbor({ v: 1, chainId: CHAIN, from: 1, to: 2, ...over })));
    expect(bad({ from: 5, to: 4 })).toBe('bad_range');
    expect(bad({ from: 0, to: MAX_PULL_RANGE })).toBe('bad_range');
    expect(bad({ from: -1 })).toBe('bad_field');
    expect(bad({ to: 1.5 })).toBe('bad_field');
    expect(bad({ to: '9' })).toBe('bad_field');
    expect(bad({ chainId: 'not a chain' })).toBe('bad_field');
    expect(bad({ v: 2 })).toBe('bad_version');
    expect(reasonOf(() => decodeChainPullRequest(new Uint8Array([0xff, 0xfe])))).toBe('not_cbor');
    const huge = encodeCbor({ v: 1, chainId: CHAIN, from: 1, to: 2, pad: 'x'.repeat(2000) });
    expect(reasonOf(() => decodeChainPullRequest(huge))).toBe('too_large');
  });

  it('never throw anything but GossipDecodeError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeChainPullRequest(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(GossipDecodeError);
        }
      }),
    );
  });
});

describe('chain pull frames', () => {
  it('round-trip', () => {
    const frames = [
      { t: 'block', block: blockAt(7) },
      { t: 'end', next: 9, head: 20, oldest: 3 },
      { t: 'end', next: 1, head: null, oldest: null },
      { t: 'refused', reason: 'not_read_here' },
    ] as const;
    for (const frame of frames) expect(decodeChainPullFrame(encodeChainPullFrame(frame), MAX)).toEqual(frame);
  });

  it('refuse an unknown kind, a malformed block, a bad end and an oversized frame', () => {
    const bad = (m: Record<string, unknown>, max = MAX) =>
      reasonOf(() => decodeChainPullFrame(encodeCbor({ v: 1, ...m }), max));
    expect(bad({ t: 'blocks' })).toBe('bad_kind');
    expect(bad({ t: 'block', block: 'x' })).toBe('bad_field');
    expect(bad({ t: 'block', block: { ...blockAt(3), hash: 'nope' } })).toBe('bad_field');
    expect(bad({ t: 'block', block: { ...blockAt(3), link: { number: 3, hash: hash(3) } } })).toBe(
      'bad_field',
    );
    expect(bad({ t: 'end', next: -1, head: 1, oldest: 0 })).toBe('bad_field');
    expect(bad({ t: 'end', next: 1, head: 'x', oldest: 0 })).toBe('bad_field');
    expect(bad({ t: 'refused', reason: 'r'.repeat(201) })).toBe('bad_field');
    expect(bad({ t: 'block', block: blockAt(3) }, 50)).toBe('too_large');
  });

  it('never throw anything but GossipDecodeError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeChainPullFrame(bytes, MAX);
        } catch (error) {
          expect(error).toBeInstanceOf(GossipDecodeError);
        }
      }),
    );
  });
});

describe('an answer checked against its request', () => {
  const request = { chainId: CHAIN, from: 10, to: 20 };

  it('takes ascending blocks of the range and an end past them', () => {
    const reader = new PullAnswerReader(request);
    reader.block(blockAt(10), 100);
    reader.block(blockAt(15), 100);
    reader.end({ next: 21 });
    expect(reader.blocks.map((b) => b.number)).toEqual([10, 15]);
    // An answer that stopped early says where, past its last block.
    const early = new PullAnswerReader(request);
    early.block(blockAt(12), 100);
    early.end({ next: 13 });
  });

  it('refuses another chain, heights out of the range or order, too many blocks or bytes', () => {
    expect(reasonOf(() => new PullAnswerReader(request).block(blockAt(12, 'eip155:1'), 1))).toBe(
      'wrong_chain',
    );
    expect(reasonOf(() => new PullAnswerReader(request).block(blockAt(9), 1))).toBe('out_of_range');
    expect(reasonOf(() => new PullAnswerReader(request).block(blockAt(21), 1))).toBe('out_of_range');
    const twice = new PullAnswerReader(request);
    twice.block(blockAt(12), 1);
    expect(reasonOf(() => twice.block(blockAt(12), 1))).toBe('not_ascending');
    expect(reasonOf(() => twice.block(blockAt(11), 1))).toBe('not_ascending');

    const wide = { chainId: CHAIN, from: 0, to: MAX_PULL_RANGE - 1 };
    const many = new PullAnswerReader(wide);
    for (let n = 0; n < MAX_PULL_BLOCKS; n++) many.block(blockAt(n), 1);
    expect(reasonOf(() => many.block(blockAt(MAX_PULL_BLOCKS), 1))).toBe('too_many_blocks');
    const heavy = new PullAnswerReader(wide);
    heavy.block(blockAt(0), MAX_PULL_ANSWER_BYTES - 10);
    expect(reasonOf(() => heavy.block(blockAt(1), 11))).toBe('too_large');
  });

  it('refuses an end that goes back, makes no progress or passes the range', () => {
    const reader = new PullAnswerReader(request);
    reader.block(blockAt(14), 1);
    expect(reasonOf(() => reader.end({ next: 14 }))).toBe('bad_end');
    expect(reasonOf(() => reader.end({ next: 22 }))).toBe('bad_end');
    expect(reasonOf(() => new PullAnswerReader(request).end({ next: 10 }))).toBe('bad_end');
  });
});

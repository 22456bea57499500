/**
 * The chain topic's wire format: a block round-trips; malformed, oversized and wrongly typed input gives
 * GossipDecodeError naming the field, never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChainBlockAnnouncement,
  chainTopic,
  decodeChainBlock,
  encodeCbor,
  encodeChainBlock,
  GossipDecodeError,
  MAX_CHAIN_EVENTS,
  MAX_COVERED_ACCOUNTS,
} from '../../protocol/gossip/index.ts';

const MAX = 1 << 20;
const HASH = `0x${'ab'.repeat(32)}`;
const event = {
  txHash: `0x${'cd'.repeat(32)}`,
  logIndex: 3,
  kind: 'nft.transfer',
  contract: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  from: '0x0000000000000000000000000000000000000000',
  to: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  tokenId: '340282366920938463463374607431768211457',
  raw: { topics: [`0x${'11'.repeat(32)}`], data: '0x' },
};
const block: ChainBlockAnnouncement = {
  chainId: 'eip155:31337',
  number: 42,
  hash: HASH,
  link: { number: 40, hash: `0x${'ef'.repeat(32)}` },
  events: [event],
};

/** The message with some fields replaced, encoded as a peer would send it. */
const withFields = (over: Record<string, unknown>) => encodeCbor({ v: 1, ...block, ...over });
const withEvent = (over: Record<string, unknown>) => withFields({ events: [{ ...event, ...over }] });
const reasonOf = (bytes: Uint8Array, max = MAX) => {
  try {
    decodeChainBlock(bytes, max);
    return 'decoded';
  } catch (e) {
    expect(e).toBeInstanceOf(GossipDecodeError);
    return (e as GossipDecodeError).message;
  }
};

describe('chain block codec', () => {
  it('round-trips a block with events, a Substrate block and a first block without a link', () => {
    expect(decodeChainBlock(encodeChainBlock(block), MAX)).toEqual(block);
    const substrate: ChainBlockAnnouncement = {
      chainId: 'polkadot:91b171bb158e2d3848fa23a9f1c25182',
      number: 7,
      hash: HASH,
      link: null,
      events: [
        {
          txHash: HASH,
          logIndex: 2,
          kind: 'balances.transfer',
          contract: 'balances',
          from: '15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5',
          to: '14E5nqKAp3oAJcmzgZhUD2RcptBeUBScxKHgJKU4HPNcKVf3',
          amount: '1000000000000',
          raw: { topics: ['balances.Transfer'], data: '0x00' },
        },
      ],
    };
    expect(decodeChainBlock(encodeChainBlock(substrate), MAX)).toEqual(substrate);
    expect(chainTopic('eip155:1')).toBe('/odyssey/chain/eip155:1/blocks/1');
  });

  it('refuses wrong types, out-of-range numbers and malformed hashes, naming the field', () => {
    expect(reasonOf(withFields({ chainId: 42 }))).toBe('bad_field: chainId');
    expect(reasonOf(withFields({ chainId: 'eip155:1/../x' }))).toBe('bad_field: chainId');
    expect(reasonOf(withFields({ number: -1 }))).toBe('bad_field: number');
    expect(reasonOf(withFields({ number: 1.5 }))).toBe('bad_field: number');
    expect(reasonOf(withFields({ number: '42' }))).toBe('bad_field: number');
    expect(reasonOf(withFields({ number: 2 ** 60 }))).toBe('bad_field: number');
    expect(reasonOf(withFields({ hash: '0x1234' }))).toBe('bad_field: hash');
    expect(reasonOf(withFields({ hash: HASH.toUpperCase() }))).toBe('bad_field: hash');
    expect(reasonOf(withFields({ link: 'yesterday' }))).toBe('bad_field: link');
    expect(reasonOf(withFields({ link: undefined }))).toBe('bad_field: link');
    // A link must point back: a block cannot follow itself or a later one.
    expect(reasonOf(withFields({ link: { number: 42, hash: HASH } }))).toBe('bad_field: link');
    expect(reasonOf(withFields({ events: {} }))).toBe('bad_field: events');
    expect(reasonOf(withFields({ events: ['x'] }))).toBe('bad_field: events');
    // -1 is a snapshot's index (`balances.free`, read at the block, not a log); nothing lower.
    expect(reasonOf(withEvent({ logIndex: -2 }))).toBe('bad_field: logIndex');
    expect(reasonOf(withEvent({ logIndex: -1 }))).toBe('decoded');
    expect(reasonOf(withEvent({ txHash: 'not hex' }))).toBe('bad_field: txHash');
    expect(reasonOf(withEvent({ kind: 'Drop Table' }))).toBe('bad_field: kind');
    expect(reasonOf(withEvent({ amount: '-5' }))).toBe('bad_field: amount');
    expect(reasonOf(withEvent({ amount: 5 }))).toBe('bad_field: amount');
    expect(reasonOf(withEvent({ tokenId: '1e9' }))).toBe('bad_field: tokenId');
    expect(reasonOf(withEvent({ odysseyId: 'not-a-uuid' }))).toBe('bad_field: odysseyId');
    expect(reasonOf(withEvent({ token: 256 }))).toBe('bad_field: token');
    expect(reasonOf(withEvent({ to: 'x'.repeat(129) }))).toBe('bad_field: to');
    expect(reasonOf(withEvent({ raw: null }))).toBe('bad_field: raw');
    expect(reasonOf(withEvent({ raw: { topics: Array(9).fill('0x'), data: '0x' } }))).toBe(
      'bad_field: topics',
    );
    expect(reasonOf(withEvent({ raw: { topics: [7], data: '0x' } }))).toBe('bad_field: topics');
    expect(reasonOf(withEvent({ raw: { topics: [], data: 'zz' } }))).toBe('bad_field: data');
  });

  it('takes the accounts a publication covers, bounded and as account ids only', () => {
    const ids = [`0x${'12'.repeat(32)}`, `0x${'34'.repeat(20)}`];
    expect(decodeChainBlock(withFields({ accounts: ids }), MAX).accounts).toEqual(ids);
    expect(decodeChainBlock(encodeChainBlock(block), MAX)).not.toHaveProperty('accounts');
    expect(reasonOf(withFields({ accounts: 'all' }))).toBe('bad_field: accounts');
    expect(reasonOf(withFields({ accounts: ['HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F'] }))).toBe(
      'bad_field: accounts',
    );
    expect(reasonOf(withFields({ accounts: [`0x${'AB'.repeat(32)}`] }))).toBe('bad_field: accounts');
    expect(reasonOf(withFields({ accounts: Array(MAX_COVERED_ACCOUNTS + 1).fill(ids[0]) }))).toBe(
      'bad_field: accounts',
    );
  });

  it('refuses oversized messages, too many events, other versions and non-CBOR', () => {
    const big = encodeChainBlock(block);
    expect(reasonOf(big, big.byteLength - 1)).toMatch(/^too_large/);
    expect(reasonOf(withFields({ events: Array(MAX_CHAIN_EVENTS + 1).fill(event) }), 16 * MAX)).toBe(
      'bad_field: events',
    );
    expect(reasonOf(withEvent({ raw: { topics: [], data: `0x${'0'.repeat(20_000)}` } }))).toBe(
      'bad_field: data',
    );
    expect(reasonOf(encodeCbor({ ...block, v: 2 }))).toBe('bad_version: 2');
    expect(reasonOf(new Uint8Array([0xff, 0x00, 0x13]))).toMatch(/^not_cbor|^not_a_map/);
    expect(reasonOf(encodeCbor([1, 2, 3]))).toBe('not_a_map');
  });

  it('gives GossipDecodeError and nothing else for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          decodeChainBlock(bytes, MAX);
        } catch (e) {
          return e instanceof GossipDecodeError;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

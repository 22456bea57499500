/**
 * Gap fill in the harvester, on a real LevelDB. Asking side: a `source: peers` chain that gets a block
 * whose link it never stored asks its gap filler for the heights in between, applies what a quorum then
 * answered first, and asks once only (no answer: the block is applied as a counted gap). Answering side:
 * an RPC chain answers from its committed blocks, each as it would publish it (events and link), bounded
 * by MAX_PULL_BLOCKS and its head; a `source: peers` chain refuses (an echo is no independent reading).
 *
 * The gap filler here stands in for the federation's chain pull and hands back blocks as two peers'
 * answers; the real protocol between node processes is tested in test/federation/chain-gaps.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../harvester/adapter.ts';
import { answerPull } from '../../harvester/peers/answer.ts';
import { StoredBlocks } from '../../harvester/peers/blocks.ts';
import type { ChainGapFiller } from '../../harvester/peers/sharing.ts';
import { MAX_HEIGHTS } from '../../harvester/peers/votes.ts';
import type { ChainBlockAnnouncement } from '../../protocol/gossip/index.ts';
import { MAX_PULL_BLOCKS } from '../../protocol/gossip/index.ts';
import { ALICE, block, CHAIN, evmChain as chain, hash, mint, TOKEN } from '../support/peer-blocks.ts';
import { type HarvesterHarness, startHarvester, until, value } from './support.ts';

let h: HarvesterHarness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const balance = () => value(h!.harvester, 'bal', ALICE, CHAIN, TOKEN);
const feed = async () => (await h!.harvester.status()).chains[0].sharing.feed;

/**
 * A filler that records what it was asked and answers, as peers p1 and p2, with the `known` blocks in
 * range; `onlyBounded`: catch-ups (no upper bound) get nothing, as when the block did not exist yet then.
 */
function fillerWith(known: ChainBlockAnnouncement[], onlyBounded = false) {
  const asked: [number, number | null][] = [];
  const filler: ChainGapFiller = {
    fill: async (_chainId, from, to) => {
      asked.push([from, to]);
      if (onlyBounded && to === null) return;
      for (const b of known.filter((k) => k.number >= from && (to === null || k.number <= to)))
        for (const peer of ['p1', 'p2']) await h!.harvester.receivePeerBlock(b, peer);
    },
  };
  return { filler, asked };
}

describe('a peers-source chain that misses blocks', () => {
  it('asks for the heights under a block whose link it lacks, and applies them first', async () => {
    h = await startHarvester([chain('peers')], { chainQuorum: 2 });
    const b3 = block(3, [mint(3, 1)], null);
    const b5 = block(5, [mint(5, 10)], { number: 3, hash: hash(3) });
    const b7 = block(7, [mint(7, 4)], { number: 5, hash: hash(5) });
    const { filler, asked } = fillerWith([b5], true);
    h.harvester.setGapFiller(filler);
    for (const peer of ['p1', 'p2']) await h.harvester.receivePeerBlock(b3, peer);
    await until(async () => (await balance()) === '1', 10_000, 'block 3');
    // Block 5 never came by gossip: 7 arrives with 5 as its link.
    for (const peer of ['p1', 'p2']) await h.harvester.receivePeerBlock(b7, peer);
    await until(async () => (await balance()) === '15', 10_000, 'blocks 5 and 7');
    expect(asked).toContainEqual([4, 6]);
    expect(await feed()).toMatchObject({ gaps: 0 });
    expect((await feed())?.pulls).toBeGreaterThanOrEqual(2);
  });

  it('asks once; with no quorum answering, applies the block as a counted gap', async () => {
    h = await startHarvester([chain('peers')], { chainQuorum: 1 });
    const { filler, asked } = fillerWith([]);
    h.harvester.setGapFiller(filler);
    await h.harvester.receivePeerBlock(block(9, [mint(9, 2)], { number: 7, hash: hash(7) }), 'p1');
    await until(async () => (await balance()) === '2', 10_000, 'block after a gap');
    expect(asked.filter(([, to]) => to === 8)).toEqual([[0, 8]]);
    expect(await feed()).toMatchObject({ gaps: 1 });
  });

  it('catches up when told a peer is reachable, up to the head the peers report', async () => {
    h = await startHarvester([chain('peers')], { chainQuorum: 2 });
    const b4 = block(4, [mint(4, 3)], null);
    const { filler, asked } = fillerWith([b4]);
    h.harvester.setGapFiller(filler);
    await until(() => asked.length >= 1, 10_000, 'the first catch-up');
    await until(async () => (await balance()) === '3', 10_000, 'block 4 from the catch-up');
    const before = asked.length;
    h.harvester.peersAvailable();
    await until(() => asked.length > before, 10_000, 'a catch-up on a new peer');
    expect(asked[asked.length - 1]).toEqual([5, null]);
  });
});

describe('a catch-up larger than the vote store', () => {
  it('applies the lowest MAX_HEIGHTS blocks in order without a gap; the next catch-up brings the rest', async () => {
    h = await startHarvester([chain('peers')], { chainQuorum: 2 });
    // More blocks with events than votes are kept (a catch-up may pull 16 rounds of 64 blocks per peer).
    const count = MAX_HEIGHTS + 40;
    const known = Array.from({ length: count }, (_, i) =>
      block(i + 1, [mint(i + 1, 1)], i > 0 ? { number: i, hash: hash(i) } : null),
    );
    const { filler, asked } = fillerWith(known);
    h.harvester.setGapFiller(filler);
    // The votes above MAX_HEIGHTS are dropped (the highest go), never the next block to apply.
    await until(async () => (await balance()) === `${MAX_HEIGHTS}`, 30_000, 'the first MAX_HEIGHTS blocks');
    expect(asked).toEqual([[0, null]]);
    h.harvester.peersAvailable();
    await until(async () => (await balance()) === `${count}`, 30_000, 'the rest on the next catch-up');
    expect(asked).toEqual([
      [0, null],
      [MAX_HEIGHTS + 1, null],
    ]);
    expect(await feed()).toMatchObject({ gaps: 0 });
  }, 60_000);
});

describe('answering a peer’s pull', () => {
  it('an RPC chain answers its committed blocks with events, as published, bounded', async () => {
    h = await startHarvester([], {});
    const { store, blocks } = { store: h.harvester.store, blocks: new StoredBlocks(h.db) };
    const event = (n: number): ChainEvent => ({
      ...mint(n, n),
      id: `${CHAIN}:${hash(n, 9)}:0`,
      chainId: CHAIN,
      blockNumber: n,
      blockHash: hash(n),
      kind: 'token.transfer',
    });
    await store.applyBlock(CHAIN, { number: 3, hash: hash(3) }, [event(3)], 1000);
    await store.applyBlock(CHAIN, { number: 4, hash: hash(4) }, [], 1000);
    await store.applyBlock(CHAIN, { number: 5, hash: hash(5) }, [event(5)], 1000);
    const answer = await answerPull({ blocks, store }, { chainId: CHAIN, from: 0, to: 100 }, 5);
    expect(answer).toEqual({
      blocks: [block(3, [mint(3, 3)], null), block(5, [mint(5, 5)], { number: 3, hash: hash(3) })],
      next: 101,
      head: 5,
      oldest: 3,
    });
    // From the middle: the first block's link is the one before the range.
    expect((await answerPull({ blocks, store }, { chainId: CHAIN, from: 4, to: 100 }, 5)).blocks).toEqual([
      block(5, [mint(5, 5)], { number: 3, hash: hash(3) }),
    ]);
    // Nothing above the head is named, even if asked for.
    expect(
      (await answerPull({ blocks, store }, { chainId: CHAIN, from: 0, to: 100 }, 3)).blocks,
    ).toHaveLength(1);

    for (let n = 10; n < 10 + MAX_PULL_BLOCKS + 5; n++)
      await store.applyBlock(CHAIN, { number: n, hash: hash(n) }, [event(n)], 1000);
    const full = await answerPull({ blocks, store }, { chainId: CHAIN, from: 6, to: 1000 }, 1000);
    expect(full.blocks).toHaveLength(MAX_PULL_BLOCKS);
    expect(full.next).toBe(10 + MAX_PULL_BLOCKS);
  });

  it('a peers-source chain refuses, and so does an unknown chain', async () => {
    h = await startHarvester([chain('peers')], { chainQuorum: 1 });
    expect(await h.harvester.answerPeerPull({ chainId: CHAIN, from: 0, to: 10 })).toEqual({
      refused: 'not_read_here',
    });
    expect(await h.harvester.answerPeerPull({ chainId: 'eip155:1', from: 0, to: 10 })).toEqual({
      refused: 'unknown_chain',
    });
  });
});

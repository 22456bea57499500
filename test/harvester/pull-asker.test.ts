/**
 * The asking side of chain pull keeps within the answerer's share of streams per peer
 * (MAX_ANSWERS_PER_PEER): a node that catches up many `source: peers` chains at once (it does when a
 * trusted peer connects) gets every chain's answer and is never refused `busy` — and refusals that only
 * say the answerer cannot serve that chain are not held against the asker. Two real `ChainPull`s on real
 * libp2p hosts on loopback; the chain side of each is a stand-in that answers after a delay and records
 * how many answers ran at once (the real harvester's answers are tested in pull-answerer.test.ts).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainPull, MAX_ANSWERS_PER_PEER } from '../../node/federation/chain-pull.ts';
import { Peers } from '../../node/federation/peers.ts';
import type { SharedChains } from '../../node/federation/shared-chains.ts';
import { NODE_MAX_MESSAGE_BYTES, startTestPeer, type TestPeer } from '../support/test-peer.ts';

const silent = pino({ level: 'silent' });
let asker: TestPeer;
let answerer: TestPeer;
let answererPeers: Peers;
let askerPull: ChainPull;
let answerPull: ChainPull;
const received: string[] = [];
let refusal: string | undefined;
let running = 0;
let mostAtOnce = 0;

const standIn = (answer: SharedChains['answerPeerPull']): SharedChains => ({
  sharedChains: [],
  receivePeerBlock: async (block) => {
    received.push(block.chainId);
    return 'accept';
  },
  setPublisher: () => {},
  setGapFiller: () => {},
  peersAvailable: () => {},
  answerPeerPull: answer,
});

beforeAll(async () => {
  asker = await startTestPeer('pull-asker');
  answerer = await startTestPeer('pull-answerer');
  answererPeers = new Peers(asker.peerId);
  answerPull = new ChainPull(
    {
      host: answerer.host,
      peers: answererPeers,
      logger: silent,
      chains: standIn(async (request) => {
        if (refusal) return { refused: refusal };
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        // A LevelDB read on a loaded node: long enough for the asker's streams to overlap.
        await new Promise((r) => setTimeout(r, 300));
        running--;
        return {
          blocks: [
            {
              chainId: request.chainId,
              number: request.from,
              hash: `0x${'1'.repeat(64)}`,
              link: null,
              events: [],
            },
          ],
          next: request.to + 1,
          head: request.to,
          oldest: 0,
        };
      }),
    },
    { maxMessageBytes: NODE_MAX_MESSAGE_BYTES },
  );
  await answerPull.start();
  askerPull = new ChainPull(
    {
      host: asker.host,
      peers: new Peers(answerer.peerId),
      logger: silent,
      chains: standIn(async () => ({ refused: 'unknown_chain' })),
    },
    { maxMessageBytes: NODE_MAX_MESSAGE_BYTES },
  );
  await askerPull.start();
  await asker.dial([answerer]);
}, 60_000);

afterAll(async () => {
  await askerPull?.stop();
  await answerPull?.stop();
  await asker?.stop();
  await answerer?.stop();
});

describe('chain pull, asking side', () => {
  it('catches up more chains at once than the answerer serves per peer: every one answered, none refused', async () => {
    const chains = Array.from({ length: 3 * MAX_ANSWERS_PER_PEER }, (_, i) => `eip155:${100 + i}`);
    await Promise.all(chains.map((chain) => askerPull.fill(chain, 0, 10, new AbortController().signal)));
    expect(chains.filter((chain) => !received.includes(chain))).toEqual([]);
    expect(answererPeers.stats(asker.peerId).reasons).toEqual({});
    expect(mostAtOnce).toBe(MAX_ANSWERS_PER_PEER);
  }, 30_000);

  it("does not hold the answerer's own refusals (not_published, not_read_here) against the asker", async () => {
    for (const reason of ['not_published', 'not_read_here']) {
      refusal = reason;
      const frames = await asker.pull(answerer, { chainId: 'eip155:100', from: 0, to: 5 });
      expect(frames).toEqual([{ t: 'refused', reason }]);
    }
    refusal = undefined;
    expect(answererPeers.stats(asker.peerId).reasons).toEqual({});
  }, 30_000);
});

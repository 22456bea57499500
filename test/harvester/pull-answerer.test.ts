/**
 * The answering side of chain pull under hostile requests, with real parts only: a harvester on a real
 * LevelDB following a real anvil (three mints: three blocks with events), the federation's `ChainPull`
 * on a real libp2p host, and the test's own libp2p peer (test/support/test-peer.ts), trusted by it,
 * asking over loopback. Malformed, oversized, too wide and truncated requests are refused with the
 * reason (a `refused` frame, counted as `pull_request_<reason>`), a chain it does not read is refused
 * without counting it against the asker (an honest question), heights above the head are
 * answered without naming a block above it, a request that never finishes is cut off at the request
 * timeout, and a peer opening many streams at once gets `busy` beyond its share; after each, an honest
 * request gets the whole honest answer.
 */
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainPull, MAX_ANSWERS_PER_PEER, REQUEST_TIMEOUT_MS } from '../../node/federation/chain-pull.ts';
import { Peers } from '../../node/federation/peers.ts';
import {
  CHAIN_PULL_PROTOCOL,
  type ChainPullFrame,
  type ChainPullRequest,
  decodeChainPullFrame,
  encodeCbor,
  encodeChainPullRequest,
  MAX_PULL_RANGE,
} from '../../protocol/gossip/index.ts';
import { type LocalEvm, startEvm } from '../support/chains.ts';
import { ANVIL_CHAIN as CHAIN } from '../support/federation.ts';
import { NODE_MAX_MESSAGE_BYTES, startTestPeer, type TestPeer } from '../support/test-peer.ts';
import { accounts, send } from './chain.ts';
import { anvilChain, type HarvesterHarness, processed, silent, startHarvester } from './support.ts';

const ALICE = accounts[1].address;

let evm: LocalEvm;
let h: HarvesterHarness;
/** The answering node's host (a test peer's, which answers nothing itself) and the asking peer. */
let answerer: TestPeer;
let peers: Peers;
let chainPull: ChainPull;
let asker: TestPeer;
/** The blocks of the three mints, and what the harvester processed (the answerer's head). */
const mints: number[] = [];
let head = 0;

beforeAll(async () => {
  evm = await startEvm();
  h = await startHarvester([anvilChain(evm.anvil.url, evm.d)]);
  for (const amount of [1n, 2n, 3n])
    mints.push((await send(evm.client, evm.d.token, 'TestToken', 'mint', [ALICE, amount])).block);
  head = mints[mints.length - 1];
  await processed(h.harvester, head);

  asker = await startTestPeer('pull-asker');
  answerer = await startTestPeer('pull-answerer');
  peers = new Peers(asker.peerId);
  chainPull = new ChainPull(
    { host: answerer.host, peers, chains: h.harvester, logger: silent },
    { maxMessageBytes: NODE_MAX_MESSAGE_BYTES },
  );
  await chainPull.start();
  await asker.dial([answerer]);
}, 120_000);

afterAll(async () => {
  await chainPull?.stop();
  await answerer?.stop();
  await asker?.stop();
  await h?.cleanup();
  await evm?.stop();
}, 60_000);

const reasons = () => peers.stats(asker.peerId).reasons;

async function openPull(): Promise<{ stream: Stream; lp: ReturnType<typeof lpStream> }> {
  const stream = await asker.host.dialProtocol(answerer.host.peerId, CHAIN_PULL_PROTOCOL);
  return { stream, lp: lpStream(stream, { maxDataLength: 2 * NODE_MAX_MESSAGE_BYTES }) };
}

/** Every frame up to the end or a refusal; throws when the answerer cuts the stream instead. */
async function readAnswer(lp: ReturnType<typeof lpStream>): Promise<ChainPullFrame[]> {
  const frames: ChainPullFrame[] = [];
  for (;;) {
    const frame = decodeChainPullFrame((await lp.read()).subarray(), 2 * NODE_MAX_MESSAGE_BYTES);
    frames.push(frame);
    if (frame.t !== 'block') return frames;
  }
}

/** One request frame of these bytes, and the answer. */
async function ask(bytes: Uint8Array): Promise<ChainPullFrame[]> {
  const { stream, lp } = await openPull();
  try {
    await lp.write(bytes);
    return await readAnswer(lp);
  } finally {
    await stream.close().catch(() => stream.abort(new Error('done')));
  }
}

/** An honest pull of everything up to the head: the harvester's own answer, frame for frame. */
async function expectHonestAnswer(): Promise<void> {
  const request: ChainPullRequest = { chainId: CHAIN, from: 0, to: head };
  const expected = await h.harvester.answerPeerPull(request);
  if ('refused' in expected) throw new Error(`refused: ${expected.refused}`);
  const frames = await asker.pull(answerer, request);
  expect(frames).toEqual([
    ...expected.blocks.map((block) => ({ t: 'block', block })),
    { t: 'end', next: head + 1, head, oldest: expected.oldest },
  ]);
  for (const n of mints) expect(expected.blocks.some((b) => b.number === n)).toBe(true);
}

/** Waits for a reason's count to reach `count`. */
async function counted(reason: string, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((reasons()[`pull_request_${reason}`] ?? 0) < count) {
    if (Date.now() > deadline)
      throw new Error(`pull_request_${reason} not counted ${count}×: ${JSON.stringify(reasons())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the chain-pull answerer under hostile requests', () => {
  it('answers an honest request with the committed blocks with events', async () => {
    await expectHonestAnswer();
    expect(reasons()).toEqual({});
  });

  it('refuses malformed, too wide and oversized requests with the reason, counted', async () => {
    const cases: [string, Uint8Array][] = [
      ['not_cbor', new Uint8Array([0xff, 0xfe, 0x00, 0x01])],
      ['bad_range', encodeChainPullRequest({ chainId: CHAIN, from: 0, to: MAX_PULL_RANGE })],
      ['bad_range', encodeChainPullRequest({ chainId: CHAIN, from: 10, to: 9 })],
      ['bad_field', encodeCbor({ v: 1, chainId: CHAIN, from: -1, to: 5 })],
      ['bad_field', encodeCbor({ v: 1, chainId: 'no chain id', from: 0, to: 5 })],
      ['too_large', encodeCbor({ v: 1, chainId: CHAIN, from: 0, to: 5, pad: 'x'.repeat(4000) })],
    ];
    for (const [reason, bytes] of cases) {
      const before = reasons()[`pull_request_${reason}`] ?? 0;
      expect(await ask(bytes), reason).toEqual([{ t: 'refused', reason }]);
      await counted(reason, before + 1);
      await expectHonestAnswer();
    }
  });

  it('refuses a chain it does not read with the reason, without holding it against the asker', async () => {
    // Askers ask every trusted peer: "not a chain I read" answers an honest question.
    const request = encodeChainPullRequest({ chainId: 'eip155:1', from: 0, to: 5 });
    expect(await ask(request)).toEqual([{ t: 'refused', reason: 'unknown_chain' }]);
    await expectHonestAnswer();
    expect(reasons().pull_request_unknown_chain).toBeUndefined();
  });

  it('answers heights above its head without naming a block above it', async () => {
    // `next` past the head claims nothing about those heights: the asker votes only on blocks, reads the
    // head from the same frame, and would refuse an end at or below `from` (no progress).
    const above = await asker.pull(answerer, { chainId: CHAIN, from: head + 1, to: head + 100 });
    expect(above).toEqual([{ t: 'end', next: head + 101, head, oldest: expect.any(Number) }]);
    // The widest request there is, from 0: almost all of it above the head.
    const across = await asker.pull(answerer, { chainId: CHAIN, from: 0, to: MAX_PULL_RANGE - 1 });
    const blocks = across.filter((f) => f.t === 'block').map((f) => f.block.number);
    expect(blocks.length).toBeGreaterThanOrEqual(mints.length);
    expect(Math.max(...blocks)).toBe(head);
    expect(across[across.length - 1]).toMatchObject({ t: 'end', next: MAX_PULL_RANGE, head });
    await expectHonestAnswer();
  });

  it('refuses a request cut short by the asker (truncated frame, then end of stream)', async () => {
    const before = reasons().pull_request_truncated ?? 0;
    const { stream } = await openPull();
    stream.send(new Uint8Array([50, 0xa4, 0x61, 0x76]));
    await stream.close();
    await counted('truncated', before + 1);
    await expectHonestAnswer();
  });

  it('cuts off a request that never finishes at the request timeout, and closes the stream', async () => {
    const before = reasons().pull_request_timeout ?? 0;
    const { stream, lp } = await openPull();
    // A length prefix of 50 bytes, then 4 of them; the stream stays open.
    stream.send(new Uint8Array([50, 0xa4, 0x61, 0x76, 0x01]));
    const started = Date.now();
    await expect(lp.read()).rejects.toThrow();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 500);
    expect(waited).toBeLessThan(REQUEST_TIMEOUT_MS + 5_000);
    await counted('timeout', before + 1);
    await expectHonestAnswer();
  }, 30_000);

  it('a peer opening many streams at once gets `busy` beyond its share; the stalled ones time out', async () => {
    const before = { busy: reasons().pull_request_busy ?? 0, timeout: reasons().pull_request_timeout ?? 0 };
    const streams = 3 * MAX_ANSWERS_PER_PEER;
    const opened = await Promise.all(Array.from({ length: streams }, () => openPull()));
    // None sends a request: the first MAX_ANSWERS_PER_PEER hold the answerer until their timeout.
    const outcomes = await Promise.all(
      opened.map(async ({ lp }) => {
        try {
          return await readAnswer(lp);
        } catch {
          return 'cut';
        }
      }),
    );
    const busy = outcomes.filter((o) => Array.isArray(o) && o[0]?.t === 'refused' && o[0].reason === 'busy');
    expect(busy).toHaveLength(streams - MAX_ANSWERS_PER_PEER);
    expect(outcomes.filter((o) => o === 'cut')).toHaveLength(MAX_ANSWERS_PER_PEER);
    await counted('busy', before.busy + streams - MAX_ANSWERS_PER_PEER);
    await counted('timeout', before.timeout + MAX_ANSWERS_PER_PEER);
    for (const { stream } of opened) stream.abort(new Error('done'));
    await expectHonestAnswer();
  }, 30_000);

  it('answers honest requests made at once up to its share, in full', async () => {
    const request: ChainPullRequest = { chainId: CHAIN, from: 0, to: head };
    const answers = await Promise.all(
      Array.from({ length: MAX_ANSWERS_PER_PEER }, () => asker.pull(answerer, request)),
    );
    for (const frames of answers)
      expect(frames[frames.length - 1]).toMatchObject({ t: 'end', next: head + 1 });
  });
});

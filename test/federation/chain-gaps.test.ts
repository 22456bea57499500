/**
 * Gap fill on a real anvil chain with real node processes: A reads the chain through its RPC; C has no RPC
 * for it (`"source": "peers"`, quorum 2). The second peer C needs is the test's own real libp2p host,
 * trusted by both: it echoes A's gossip under its own signature and answers C's chain pulls as the test
 * tells it — honestly (A's answer, fetched from A over the same protocol), refusing, with a forged block,
 * or breaking the protocol (malformed, oversized, out-of-range frames).
 *
 * While C is stopped A commits a mint; when C comes back nothing is gossiped (no new block), so the world
 * can only reach C through pulls: it does when A and the honest peer answer; with one answer (quorum 2)
 * it waits; a forged answer makes a competing vote that changes nothing; broken answers are refused with
 * the reason counted against the peer, and C keeps running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walletUserId } from '../../common/user-id.ts';
import { ODYSSEY_ID_MASK } from '../../harvester/odyssey-id.ts';
import { type ChainPullFrame, type ChainPullRequest, chainTopic } from '../../protocol/gossip/index.ts';
import { type Anvil, accounts, type Client, type Deployed, send } from '../harvester/chain.ts';
import { startEvm } from '../support/chains.ts';
import {
  anvilChainsFlag,
  ANVIL_CHAIN as CHAIN,
  chainStatus,
  cleanup,
  federationFlags,
  type NodeProcess,
  peerReasons,
  prepareNode,
  trustingAlso,
  waitFor,
  worldOf,
  worldOwner,
  ZERO_ADDRESS as ZERO,
} from '../support/federation.ts';
import { ethSigner, newEthAccount, tokenFor } from '../support/sign-in.ts';
import {
  NODE_MAX_MESSAGE_BYTES,
  type PullReply,
  startTestPeer,
  type TestPeer,
} from '../support/test-peer.ts';

const TOPIC = chainTopic(CHAIN);
const [, alice, bob] = accounts.map((a) => a.address.toLowerCase());

/** Gossipsub's message cache: 5 heartbeats of 1 s (its defaults, which p2p-host.ts keeps), and a margin. */
const GOSSIP_HISTORY_MS = 6500;

type Mode = 'honest' | 'refuse' | 'forged' | 'malformed' | 'oversized' | 'wrong-range';

let anvil: Anvil;
let client: Client;
let d: Deployed;
let A: NodeProcess;
let C: NodeProcess;
/** The test's peer; its `asked` shows that C pulled from it. */
let rogue: TestPeer;
let mode: Mode = 'honest';
const operator = newEthAccount();
const tokens = new Map<NodeProcess, string>();

function flagsOf(n: NodeProcess): string[] {
  const source = n === A ? 'rpc' : 'peers';
  return [
    ...trustingAlso(federationFlags(n, [A, C]), rogue.peerId),
    '--admins',
    operator.address,
    '--chains',
    anvilChainsFlag(anvil.url, d, source),
    '--chain-quorum',
    '2',
  ];
}

const status = (n: NodeProcess) => chainStatus(n, tokens.get(n));
const ownerOn = (n: NodeProcess, world: string) => worldOwner(n, tokens.get(n), world);
const reasonsOnC = () => peerReasons(C, tokens.get(C), rogue.peerId);

/** The forged version of a real block: another hash, and a mint of world 7 to bob instead. */
function forge(frame: ChainPullFrame): ChainPullFrame {
  if (frame.t !== 'block') return frame;
  const event = {
    txHash: `0x${'e'.repeat(64)}`,
    logIndex: 0,
    kind: 'nft.transfer',
    contract: d.nft.toLowerCase(),
    from: ZERO,
    to: bob,
    tokenId: `${7n | ODYSSEY_ID_MASK}`,
    raw: { topics: [], data: '0x' },
  };
  return { t: 'block', block: { ...frame.block, hash: `0x${'f'.repeat(64)}`, events: [event] } };
}

/** The test peer's answer to C's pull, by mode; an honest one is A's answer (the peer relays it). */
async function answer(request: ChainPullRequest): Promise<PullReply[]> {
  if (mode === 'refuse') return [{ t: 'refused', reason: 'not today' }];
  if (mode === 'malformed') return [new Uint8Array([0xff, 0xfe, 0x00, 0x01])];
  if (mode === 'oversized') return [new Uint8Array(NODE_MAX_MESSAGE_BYTES + 64 * 1024)];
  const frames = await rogue.pull(A, request);
  if (mode === 'forged') return frames.map(forge);
  if (mode === 'wrong-range') return [encodeFrameOutside(request), ...frames.filter((f) => f.t !== 'block')];
  return frames;
}

/** A well-formed block above the asked range. */
function encodeFrameOutside(request: ChainPullRequest): ChainPullFrame {
  const number = request.to + 5;
  return {
    t: 'block',
    block: { chainId: CHAIN, number, hash: `0x${'c'.repeat(64)}`, link: null, events: [] },
  };
}

/** C stopped, a mint committed by A meanwhile, C started again: the mint's block number. */
async function mintWhileCIsDown(): Promise<number> {
  await C.stop();
  const { block } = await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [alice]);
  await waitFor(async () => ((await status(A)).processed ?? -1) >= block, 20_000, 'the mint on A');
  // Gossipsub keeps offering a message to returning peers (IHAVE) for a few heartbeats after it was
  // published: a C back within that window gets the block by gossip, not by a pull. Wait it out.
  await new Promise((r) => setTimeout(r, GOSSIP_HISTORY_MS));
  await C.start();
  tokens.set(C, await tokenFor(C, operator.address, ethSigner(operator)));
  await rogue.dial([C]);
  return block;
}

beforeAll(async () => {
  ({ anvil, client, d } = await startEvm());
  rogue = await startTestPeer('chain-gaps');
  await rogue.answerPulls(answer);
  [A, C] = await Promise.all([prepareNode('a'), prepareNode('c')]);
  for (const n of [A, C]) await n.start(flagsOf(n));
  for (const n of [A, C]) tokens.set(n, await tokenFor(n, operator.address, ethSigner(operator)));

  // The echo: A's gossiped blocks again, signed by the test's peer, so C can follow live with quorum 2.
  rogue.echo(TOPIC, A.peerId);
  await rogue.dial([A, C]);
  // A first block reaches C live (by gossip or pull): the federation works before anything is missed.
  const { block } = await send(client, d.token, 'TestToken', 'mint', [alice, 5n]);
  for (const n of [A, C])
    await waitFor(
      async () => ((await status(n)).processed ?? -1) >= block,
      30_000,
      `first block on ${n.name}`,
    );
}, 120_000);

afterAll(async () => {
  await cleanup([A, C].filter(Boolean));
  await rogue?.stop();
  await anvil?.stop();
}, 60_000);

describe('a peers-source node that missed blocks pulls them from its trusted peers', () => {
  it('C restarted after A committed a mint catches up to A with the minted world (two honest answers)', async () => {
    mode = 'honest';
    const block = await mintWhileCIsDown();
    const world = worldOf(1n);
    await waitFor(async () => (await ownerOn(C, world)) === walletUserId(alice), 30_000, 'the world on C');
    const s = await status(C);
    expect(s.processed).toBeGreaterThanOrEqual(block);
    expect(s.pulls).toBeGreaterThan(0);
    expect(s.gaps).toBe(0);
    expect(rogue.asked.some((r) => r.chainId === CHAIN && r.from <= block && r.to >= block)).toBe(true);
  }, 90_000);

  const world2 = worldOf(2n);
  const forgedWorld = worldOf(7n);
  let mint2 = 0;

  it('with quorum 2, one peer’s answer is not enough: the block waits with one vote', async () => {
    mode = 'refuse';
    const before = rogue.asked.length;
    mint2 = await mintWhileCIsDown();
    await waitFor(
      async () => (await status(C)).waiting.some((w) => w.number === mint2 && w.votes === 1),
      30_000,
      'the mint waiting on C with A’s vote',
    );
    await waitFor(() => rogue.asked.length > before, 10_000, 'C asked the refusing peer');
    expect(await ownerOn(C, world2)).toBeNull();
  }, 90_000);

  it('a forged answer is one more vote for another block: nothing changes', async () => {
    mode = 'forged';
    await rogue.redial(C);
    await waitFor(
      async () => (await status(C)).waiting.filter((w) => w.number === mint2 && w.votes === 1).length === 2,
      30_000,
      'the real and the forged block each with one vote on C',
    );
    expect(await ownerOn(C, world2)).toBeNull();
    expect(await ownerOn(C, forgedWorld)).toBeNull();
  }, 60_000);

  it('malformed, oversized and out-of-range answers are refused with the reason counted; C keeps running', async () => {
    const expected: [Mode, string][] = [
      ['malformed', 'pull_not_cbor'],
      ['oversized', 'pull_too_large'],
      ['wrong-range', 'pull_out_of_range'],
    ];
    for (const [m, reason] of expected) {
      mode = m;
      await rogue.redial(C);
      await waitFor(async () => ((await reasonsOnC())[reason] ?? 0) >= 1, 30_000, `${reason} counted on C`);
    }
    expect((await fetch(`${C.url}/health`)).ok).toBe(true);
    const s = await status(C);
    expect(s.waiting.filter((w) => w.number === mint2)).toHaveLength(2);
    expect(await ownerOn(C, world2)).toBeNull();
  }, 120_000);

  it('a second honest answer makes the quorum: the real mint is applied, the forged one never', async () => {
    mode = 'honest';
    await rogue.redial(C);
    await waitFor(async () => (await ownerOn(C, world2)) === walletUserId(alice), 30_000, 'world 2 on C');
    expect(await ownerOn(C, forgedWorld)).toBeNull();
    expect((await status(C)).gaps).toBe(0);
  }, 60_000);
});

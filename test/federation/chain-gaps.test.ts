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
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walletUserId } from '../../common/user-id.ts';
import { ODYSSEY_ID_MASK, odysseyIdOf } from '../../harvester/odyssey-id.ts';
import { createP2pHost, type P2pHost } from '../../node/federation/p2p-host.ts';
import {
  CHAIN_PULL_PROTOCOL,
  type ChainPullFrame,
  type ChainPullRequest,
  chainTopic,
  decodeChainPullFrame,
  decodeChainPullRequest,
  encodeChainPullFrame,
  encodeChainPullRequest,
} from '../../protocol/gossip/index.ts';
import {
  type Anvil,
  accounts,
  type Client,
  type Deployed,
  deployAll,
  send,
  startAnvil,
  testClient,
} from '../harvester/chain.ts';
import { cleanup, federationFlags, type NodeProcess, prepareNode, waitFor } from '../support/federation.ts';
import { call } from '../support/http.ts';
import { ethSigner, newEthAccount, tokenFor } from '../support/sign-in.ts';

const CHAIN = 'eip155:31337';
const TOPIC = chainTopic(CHAIN);
const ZERO = '0x0000000000000000000000000000000000000000';
const [, alice, bob] = accounts.map((a) => a.address.toLowerCase());
const worldOf = (n: bigint) => odysseyIdOf(n | ODYSSEY_ID_MASK) as string;
/** The nodes' gossip limit (composition/main.ts): a frame above it (plus overhead) is refused unread. */
const NODE_MAX_MESSAGE_BYTES = 1024 * 1024;

interface ChainStatusBody {
  chains: {
    processed: number | null;
    gaps: number | null;
    pulls: number | null;
    waiting: { number: number; hash: string; votes: number }[];
  }[];
}

/** Gossipsub's message cache: 5 heartbeats of 1 s (its defaults, which p2p-host.ts keeps), and a margin. */
const GOSSIP_HISTORY_MS = 6500;

type Mode = 'honest' | 'refuse' | 'forged' | 'malformed' | 'oversized' | 'wrong-range';

let anvil: Anvil;
let client: Client;
let d: Deployed;
let A: NodeProcess;
let C: NodeProcess;
let rogue: P2pHost;
let rogueDir: string;
let mode: Mode = 'honest';
/** Requests the test's peer was asked, to see that C pulled from it. */
const asked: ChainPullRequest[] = [];
const operator = newEthAccount();
const tokens = new Map<NodeProcess, string>();

function flagsOf(n: NodeProcess): string[] {
  const flags = federationFlags(n, [A, C]);
  const trust = flags.indexOf('--trust');
  flags[trust + 1] = `${flags[trust + 1]},${rogue.peerId.toString()}`;
  const source = n === A ? 'rpc' : 'peers';
  const chains = [
    {
      name: 'anvil',
      chainId: 31337,
      source,
      ...(source === 'rpc' ? { rpcUrl: anvil.url, confirmations: 0, pollIntervalMs: 20 } : {}),
      startBlock: 0,
      contracts: { tokens: [d.token, d.dad], odysseyNft: d.nft, staking: d.staking, nodeManagement: d.node },
    },
  ];
  return [...flags, '--admins', operator.address, '--chains', JSON.stringify(chains), '--chain-quorum', '2'];
}

const status = async (n: NodeProcess) =>
  (await call<ChainStatusBody>(n, 'GET', '/api/v4/harvester/status', { token: tokens.get(n) })).body
    .chains[0];

async function ownerOn(n: NodeProcess, world: string): Promise<string | null> {
  const res = await call<{ owner_id: string }>(n, 'GET', `/api/v4/worlds/${world}`, { token: tokens.get(n) });
  return res.status === 200 ? res.body.owner_id : null;
}

async function reasonsOnC(): Promise<Record<string, number>> {
  const peers = await call<{ peerId: string; reasons: Record<string, number> }[]>(
    C,
    'GET',
    '/api/v4/federation/peers',
    { token: tokens.get(C) },
  );
  return peers.body.find((p) => p.peerId === rogue.peerId.toString())?.reasons ?? {};
}

/** A's answer to a request, read over the real protocol (the honest peer relays it). */
async function askA(request: ChainPullRequest): Promise<ChainPullFrame[]> {
  const stream = await rogue.dialProtocol(peerIdFromString(A.peerId), CHAIN_PULL_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: 2 * NODE_MAX_MESSAGE_BYTES });
  await lp.write(encodeChainPullRequest(request));
  const frames: ChainPullFrame[] = [];
  for (;;) {
    const frame = decodeChainPullFrame((await lp.read()).subarray(), 2 * NODE_MAX_MESSAGE_BYTES);
    frames.push(frame);
    if (frame.t !== 'block') break;
  }
  await stream.close();
  return frames;
}

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

async function answer(stream: Stream): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: 4096 });
  try {
    const request = decodeChainPullRequest((await lp.read()).subarray());
    asked.push(request);
    if (mode === 'refuse') {
      await lp.write(encodeChainPullFrame({ t: 'refused', reason: 'not today' }));
    } else if (mode === 'malformed') {
      await lp.write(new Uint8Array([0xff, 0xfe, 0x00, 0x01]));
    } else if (mode === 'oversized') {
      await lp.write(new Uint8Array(NODE_MAX_MESSAGE_BYTES + 64 * 1024));
    } else {
      const frames = await askA(request);
      const out =
        mode === 'forged'
          ? frames.map(forge)
          : mode === 'wrong-range'
            ? [encodeFrameOutside(request), ...frames.filter((f) => f.t !== 'block')]
            : frames;
      for (const f of out) await lp.write(encodeChainPullFrame(f));
    }
    await stream.close();
  } catch (error) {
    stream.abort(error as Error);
  }
}

/** A well-formed block above the asked range. */
function encodeFrameOutside(request: ChainPullRequest): ChainPullFrame {
  const number = request.to + 5;
  return {
    t: 'block',
    block: { chainId: CHAIN, number, hash: `0x${'c'.repeat(64)}`, link: null, events: [] },
  };
}

/** Drops and redials C: a new connection makes C catch up from its peers again. */
async function reconnectToC(): Promise<void> {
  await rogue.hangUp(peerIdFromString(C.peerId));
  await rogue.dial(multiaddr(C.address));
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
  await rogue.dial(multiaddr(C.address));
  return block;
}

beforeAll(async () => {
  anvil = await startAnvil();
  client = testClient(anvil.url);
  d = await deployAll(client);
  rogueDir = await mkdtemp(join(tmpdir(), 'odyssey-chain-gaps-'));
  rogue = await createP2pHost({
    keyFile: join(rogueDir, 'peer-key'),
    name: 'rogue',
    version: '0',
    network: { host: '127.0.0.1', tcpPort: 0, wsPort: 0, maxMessageBytes: NODE_MAX_MESSAGE_BYTES },
  });
  await rogue.handle(CHAIN_PULL_PROTOCOL, (stream) => answer(stream));
  [A, C] = await Promise.all([prepareNode('a'), prepareNode('c')]);
  for (const n of [A, C]) await n.start(flagsOf(n));
  for (const n of [A, C]) tokens.set(n, await tokenFor(n, operator.address, ethSigner(operator)));

  // The echo: A's gossiped blocks again, signed by the test's peer, so C can follow live with quorum 2.
  const pubsub = rogue.services.pubsub;
  if (!pubsub) throw new Error('no gossipsub');
  pubsub.subscribe(TOPIC);
  pubsub.addEventListener('message', (event) => {
    const m = event.detail;
    if (m.topic !== TOPIC || m.type !== 'signed' || m.from.toString() !== A.peerId) return;
    pubsub.publish(TOPIC, m.data).catch(() => {});
  });
  for (const n of [A, C]) await rogue.dial(multiaddr(n.address));
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
  await rm(rogueDir, { recursive: true, force: true });
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
    expect(asked.some((r) => r.chainId === CHAIN && r.from <= block && r.to >= block)).toBe(true);
  }, 90_000);

  const world2 = worldOf(2n);
  const forgedWorld = worldOf(7n);
  let mint2 = 0;

  it('with quorum 2, one peer’s answer is not enough: the block waits with one vote', async () => {
    mode = 'refuse';
    const before = asked.length;
    mint2 = await mintWhileCIsDown();
    await waitFor(
      async () => (await status(C)).waiting.some((w) => w.number === mint2 && w.votes === 1),
      30_000,
      'the mint waiting on C with A’s vote',
    );
    await waitFor(() => asked.length > before, 10_000, 'C asked the refusing peer');
    expect(await ownerOn(C, world2)).toBeNull();
  }, 90_000);

  it('a forged answer is one more vote for another block: nothing changes', async () => {
    mode = 'forged';
    await reconnectToC();
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
      await reconnectToC();
      await waitFor(async () => ((await reasonsOnC())[reason] ?? 0) >= 1, 30_000, `${reason} counted on C`);
    }
    expect((await fetch(`${C.url}/health`)).ok).toBe(true);
    const s = await status(C);
    expect(s.waiting.filter((w) => w.number === mint2)).toHaveLength(2);
    expect(await ownerOn(C, world2)).toBeNull();
  }, 120_000);

  it('a second honest answer makes the quorum: the real mint is applied, the forged one never', async () => {
    mode = 'honest';
    await reconnectToC();
    await waitFor(async () => (await ownerOn(C, world2)) === walletUserId(alice), 30_000, 'world 2 on C');
    expect(await ownerOn(C, forgedWorld)).toBeNull();
    expect((await status(C)).gaps).toBe(0);
  }, 60_000);
});

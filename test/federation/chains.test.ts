/**
 * Chain events shared between nodes, on a real anvil chain and three node processes: A reads the chain
 * through its RPC and publishes what it processed; B (quorum 1) and C (quorum 2) have no RPC for it
 * (`"source": "peers"`). A fourth peer is the test's own real libp2p host, trusted by all three: it
 * echoes A's blocks under its own signature (so C can reach a quorum of 2), and then publishes a forged
 * block. A mint makes a world owned by the minter's user on all three nodes; a reorg (snapshot/revert)
 * rolls it back on all three; the forged block is caught by A (counted, peer distrusted, an admin trusts
 * it again) and changes nothing on C.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walletUserId } from '../../common/user-id.ts';
import { ODYSSEY_ID_MASK } from '../../harvester/odyssey-id.ts';
import { SETTLE_DEPTH } from '../../harvester/peers/peer-check.ts';
import { chainTopic, decodeChainBlock, encodeChainBlock } from '../../protocol/gossip/index.ts';
import { type Anvil, accounts, type Client, type Deployed, send } from '../harvester/chain.ts';
import { startEvm } from '../support/chains.ts';
import {
  anvilChainsFlag,
  ANVIL_CHAIN as CHAIN,
  chainStatus,
  cleanup,
  federationFlags,
  type NodeProcess,
  onAll,
  peerReasons,
  prepareNode,
  trustingAlso,
  waitFor,
  worldOf,
  worldOwner,
  ZERO_ADDRESS as ZERO,
} from '../support/federation.ts';
import { call } from '../support/http.ts';
import { ethSigner, newEthAccount, tokenFor } from '../support/sign-in.ts';
import { startTestPeer, type TestPeer } from '../support/test-peer.ts';

const TOPIC = chainTopic(CHAIN);
const [, alice, bob] = accounts.map((a) => a.address.toLowerCase());
const tokenOf = (n: bigint) => n | ODYSSEY_ID_MASK;

let anvil: Anvil;
let client: Client;
let d: Deployed;
let A: NodeProcess;
let B: NodeProcess;
let C: NodeProcess;
let rogue: TestPeer;
const operator = newEthAccount();
const tokens = new Map<NodeProcess, string>();

function flagsOf(n: NodeProcess): string[] {
  // The test's peer is trusted by every node, like any operator's peer would be.
  return [
    ...trustingAlso(federationFlags(n, [A, B, C]), rogue.peerId),
    '--admins',
    operator.address,
    '--chains',
    anvilChainsFlag(anvil.url, d, n === A ? 'rpc' : 'peers'),
    '--chain-quorum',
    n === C ? '2' : '1',
  ];
}

const status = (n: NodeProcess) => chainStatus(n, tokens.get(n));
const ownerOn = (n: NodeProcess, world: string) => worldOwner(n, tokens.get(n), world);

beforeAll(async () => {
  ({ anvil, client, d } = await startEvm());
  rogue = await startTestPeer('chain-rogue');
  [A, B, C] = await Promise.all([prepareNode('a'), prepareNode('b'), prepareNode('c')]);
  // One at a time: three cold starts at once can outlast the start timeout on a loaded machine.
  for (const n of [A, B, C]) await n.start(flagsOf(n));
  for (const n of [A, B, C]) tokens.set(n, await tokenFor(n, operator.address, ethSigner(operator)));

  // The echo: A's blocks again, signed by the test's peer (a second, independent-looking publisher).
  rogue.echo(TOPIC, A.peerId);
  await rogue.dial([A, B, C]);
  await rogue.subscribe(TOPIC, [A, B, C]);
  // Gossipsub meshes form on heartbeats: a first block on the chain shows that every path carries it.
  const { block } = await send(client, d.token, 'TestToken', 'mint', [alice, 5n]);
  await onAll([A, B, C], async (n) => ((await status(n)).processed ?? -1) >= block, 'the first block');
}, 120_000);

afterAll(async () => {
  await cleanup([A, B, C].filter(Boolean));
  await rogue?.stop();
  await anvil?.stop();
}, 60_000);

describe('a chain followed by one node and shared with two', () => {
  const world = worldOf(1n);

  it('B and C follow through peers with their quorum, and say so', async () => {
    expect(await status(A)).toMatchObject({ source: 'rpc', quorum: null });
    expect(await status(B)).toMatchObject({ source: 'peers', quorum: 1 });
    expect(await status(C)).toMatchObject({ source: 'peers', quorum: 2 });
    // Derived state came from the peers' block: the minted tokens are on B and C too.
    for (const n of [B, C]) {
      const me = await tokenFor(n, accounts[1].address, ethSigner(accounts[1]));
      const wallets = await call<{ contract_id: string; balance: string }[]>(
        n,
        'GET',
        '/api/v4/users/me/wallets',
        {
          token: me,
        },
      );
      expect(wallets.body).toEqual([
        expect.objectContaining({ contract_id: d.token.toLowerCase(), balance: '5' }),
      ]);
    }
  });

  it('a mint makes a world owned by the minter on all three; a reorg removes it on all three', async () => {
    const snapshot = await client.snapshot();
    await send(client, d.nft, 'TestOdysseyNFT', 'safeMint', [alice]);
    await onAll(
      [A, B, C],
      async (n) => (await ownerOn(n, world)) === walletUserId(alice),
      'the minted world',
    );

    await client.revert({ id: snapshot });
    await client.mine({ blocks: 1 }); // the fork: an empty block where the mint was
    await onAll([A, B, C], async (n) => (await ownerOn(n, world)) === null, 'the world rolled back');
    for (const n of [B, C]) expect((await status(n)).reorgs).toBeGreaterThanOrEqual(1);
  });

  it('a forged block is caught by A, changes nothing on C (quorum 2), and is undone on B by the real one', async () => {
    const forgedWorld = worldOf(7n);
    const head = Number(await client.getBlockNumber());
    // The link every honest publisher gives: the last block with events A processed.
    const published = await rogue.nextFrom(TOPIC, A.peerId, () => client.mine({ blocks: 1 }));
    const block = decodeChainBlock(published, 1 << 20);
    const real = block.link ?? { number: block.number, hash: block.hash };
    const forged = {
      chainId: CHAIN,
      number: head + 2,
      hash: `0x${'f'.repeat(64)}`,
      link: real,
      events: [
        {
          txHash: `0x${'e'.repeat(64)}`,
          logIndex: 0,
          kind: 'nft.transfer',
          contract: d.nft.toLowerCase(),
          from: ZERO,
          to: bob,
          tokenId: `${tokenOf(7n)}`,
          raw: { topics: [], data: '0x' },
        },
      ],
    };
    await rogue.publish(TOPIC, encodeChainBlock(forged));

    // B trusts any one trusted peer (quorum 1): the forged mint takes effect there, which shows the
    // block would change state; C waits for a second publisher that never comes.
    await waitFor(
      async () => (await ownerOn(B, forgedWorld)) === walletUserId(bob),
      20_000,
      'forged world on B',
    );
    await waitFor(
      async () => (await status(C)).waiting.some((w) => w.number === head + 2 && w.votes === 1),
      20_000,
      'the forged block waiting on C',
    );
    expect(await ownerOn(C, forgedWorld)).toBeNull();

    // The chain reaches that height and settles past it: A compares the forged block with its own reading
    // (another hash is judged SETTLE_DEPTH blocks deep, so that a reorg does not make an honest peer a liar).
    await client.mine({ blocks: 1 + SETTLE_DEPTH });
    await waitFor(
      async () => (await status(A)).peers.some((p) => p.peer_id === rogue.peerId && p.distrusted),
      20_000,
      'the forger distrusted on A',
    );
    expect((await status(A)).peers).toEqual([
      expect.objectContaining({
        peer_id: rogue.peerId,
        disagreements: 1,
        distrusted: true,
        last_reason: 'hash',
      }),
    ]);
    // A's real block at that height replaces the forged one on B; C applied the real one only.
    await onAll([B, C], async (n) => ((await status(n)).processed ?? -1) >= head + 2, 'the real block');
    await waitFor(async () => (await ownerOn(B, forgedWorld)) === null, 20_000, 'forged world undone on B');
    expect(await ownerOn(C, forgedWorld)).toBeNull();
    expect((await status(A)).peer_blocks_checked).toBeGreaterThan(0);
  });

  it('refuses malformed, oversized and misaddressed chain gossip from a trusted peer, counting the reason', async () => {
    const before = await status(B);
    const base = {
      chainId: CHAIN,
      number: (before.processed ?? 0) + 50,
      hash: `0x${'a'.repeat(64)}`,
      link: null,
      events: [],
    };
    await rogue.publish(TOPIC, new Uint8Array([0xff, 0xfe, 0x00, 0x01]));
    await rogue.publish(TOPIC, encodeChainBlock({ ...base, chainId: 'eip155:1' }));
    await rogue.publish(TOPIC, encodeChainBlock({ ...base, hash: 'not a hash' }));
    // A kind peers may not publish (a native-balance sample has no log to check it by).
    const native = {
      txHash: '0x',
      logIndex: 0,
      kind: 'native.balance',
      contract: '',
      from: alice,
      to: '',
      amount: '1',
    };
    await rogue.publish(
      TOPIC,
      encodeChainBlock({ ...base, events: [{ ...native, raw: { topics: [], data: '0x' } }] }),
    );
    const reasons = (n: NodeProcess) => peerReasons(n, tokens.get(n), rogue.peerId);
    for (const n of [B, C]) {
      await waitFor(
        async () => {
          const r = await reasons(n);
          return ['not_cbor', 'wrong_topic', 'bad_field', 'unshared_kind'].every((k) => (r[k] ?? 0) >= 1);
        },
        20_000,
        `reasons counted on ${n.name}`,
      );
      expect((await status(n)).waiting.some((w) => w.number === base.number)).toBe(false);
    }
    expect((await status(B)).processed).toBe(before.processed);
  });

  it('an operator trusts the peer again through the admin route; others may not', async () => {
    const peer = rogue.peerId;
    const path = `/api/v4/harvester/chains/anvil/peers/${peer}/trust`;
    const stranger = await tokenFor(A, accounts[2].address, ethSigner(accounts[2]));
    expect((await call(A, 'POST', path, { token: stranger })).status).toBe(403);
    expect(
      (await call(A, 'POST', `/api/v4/harvester/chains/nope/peers/${peer}/trust`, { token: tokens.get(A) }))
        .status,
    ).toBe(404);
    expect((await call(A, 'POST', path, { token: tokens.get(A) })).status).toBe(200);
    expect((await status(A)).peers).toEqual([
      expect.objectContaining({ peer_id: peer, disagreements: 1, distrusted: false }),
    ]);
  });
});

/**
 * Substrate derived balances shared between nodes, on a real chopsticks chain (in this process, on
 * 127.0.0.1) and three node processes: A reads the chain through its RPC and watches Alice, Bob and
 * Charlie; B (quorum 1, no accounts listed: whatever its publishers cover) and C (quorum 2, also watching
 * Dave, whom no publisher covers) follow it through peers. As in chains.test.ts, a fourth peer is the
 * test's own libp2p host, trusted by all three: it echoes A's blocks under its own signature (so C can
 * reach a quorum of 2), and once publishes a forged `balances.free` for Alice on a block that has no
 * events: A, which watches Alice, catches it; C applies nothing of it.
 *
 * A transfer shows as free balances in `GET /users/me/wallets` on all three nodes; a `dev_setHead` fork
 * rolls them back on all three, the new branch's balances replacing them.
 */
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChainBlockAnnouncement,
  chainTopic,
  decodeChainBlock,
  encodeChainBlock,
} from '../../protocol/gossip/index.ts';
import { type LocalSubstrate, startChopsticks } from '../support/chains.ts';
import {
  chainStatus,
  cleanup,
  federationFlags,
  type NodeProcess,
  onAll,
  peerReasons,
  prepareNode,
  trustingAlso,
  waitFor,
} from '../support/federation.ts';
import { call } from '../support/http.ts';
import { ethSigner, newEthAccount, sr25519Signer, tokenFor } from '../support/sign-in.ts';
import { startTestPeer, type TestPeer } from '../support/test-peer.ts';

type WalletRow = { wallet_id: string; contract_id: string; balance: string; address: string };

let chain: LocalSubstrate;
let topic: string;
let A: NodeProcess;
let B: NodeProcess;
let C: NodeProcess;
let rogue: TestPeer;
let alice: KeyringPair;
let bob: KeyringPair;
let charlie: KeyringPair;
let dave: KeyringPair;
let base: { number: number; hash: string };
/** Set by a test: A's next publication of a block without events is replaced by this forgery. */
let forge: ((real: ChainBlockAnnouncement) => ChainBlockAnnouncement) | undefined;
const operator = newEthAccount();
const tokens = new Map<NodeProcess, string>();
/** Per node and account: that account's user's token. */
const userTokens = new Map<string, string>();

function chainsFlag(n: NodeProcess): string {
  const watched = n === A ? [alice, bob, charlie] : n === C ? [alice, bob, charlie, dave] : [];
  return JSON.stringify([
    {
      name: 'asset-hub',
      family: 'substrate',
      source: n === A ? 'rpc' : 'peers',
      ...(n === A ? { rpcUrl: chain.url, pollIntervalMs: 20 } : {}),
      genesisHash: chain.genesisHash,
      startBlock: base.number,
      accounts: watched.map((w) => w.address),
    },
  ]);
}

function flagsOf(n: NodeProcess): string[] {
  return [
    ...trustingAlso(federationFlags(n, [A, B, C]), rogue.peerId),
    '--admins',
    operator.address,
    '--chains',
    chainsFlag(n),
    '--chain-quorum',
    n === C ? '2' : '1',
  ];
}

const status = (n: NodeProcess) => chainStatus(n, tokens.get(n));

/** The free balance a node shows for an account's user (null: no row). */
async function freeOn(n: NodeProcess, who: KeyringPair): Promise<string | null> {
  const key = `${n.name}:${who.address}`;
  let token = userTokens.get(key);
  if (!token) {
    token = await tokenFor(n, who.address, sr25519Signer(who));
    userTokens.set(key, token);
  }
  const rows = (await call<WalletRow[]>(n, 'GET', '/api/v4/users/me/wallets', { token })).body;
  const row = rows.find((r) => r.contract_id === 'balances');
  if (row) expect(row).toMatchObject({ wallet_id: u8aToHex(who.publicKey), address: who.address });
  return row?.balance ?? null;
}

const transfer = async (to: KeyringPair, amount: bigint) => {
  await chain.api.tx.balances.transferKeepAlive(to.address, amount).signAndSend(alice);
  return chain.newBlock();
};

beforeAll(async () => {
  chain = await startChopsticks();
  topic = chainTopic(chain.chainId);
  [alice, bob, charlie, dave] = ['//Alice', '//Bob', '//Charlie', '//Dave'].map(chain.account);
  await chain.fund(alice, 10n ** 15n);
  base = await chain.head();

  rogue = await startTestPeer('substrate-rogue');
  [A, B, C] = await Promise.all([prepareNode('a'), prepareNode('b'), prepareNode('c')]);
  for (const n of [A, B, C]) await n.start(flagsOf(n));
  for (const n of [A, B, C]) tokens.set(n, await tokenFor(n, operator.address, ethSigner(operator)));

  // The echo: A's blocks again under the test peer's signature; once, a forgery in place of one.
  rogue.echo(topic, A.peerId, (data) => {
    const real = decodeChainBlock(data, 1 << 20);
    if (!forge || real.events.length > 0) return data;
    const forged = forge(real);
    forge = undefined;
    return encodeChainBlock(forged);
  });
  await rogue.dial([A, B, C]);
  await rogue.subscribe(topic, [A, B, C]);
}, 180_000);

afterAll(async () => {
  await cleanup([A, B, C].filter(Boolean));
  await rogue?.stop();
  await chain?.stop();
}, 60_000);

describe('Substrate balances followed by one node and shared with two', () => {
  let b1: { number: number; hash: string };

  it('a transfer shows the new free balances on all three nodes', async () => {
    b1 = await transfer(bob, 10n ** 12n);
    const aliceFree = await chain.freeAt(b1.hash, alice);
    await onAll([A, B, C], async (n) => (await freeOn(n, alice)) === aliceFree, 'alice’s balance');
    for (const n of [A, B, C]) {
      expect(await freeOn(n, bob)).toBe(`${10n ** 12n}`);
      expect(await freeOn(n, charlie)).toBeNull();
    }

    expect(await status(A)).toMatchObject({ source: 'rpc', quorum: null, uncovered_accounts: [] });
    const covered = [alice, bob, charlie].map((w) => u8aToHex(w.publicKey)).sort();
    // B lists no accounts: it shows what its publishers cover. C watches Dave too, whom nobody covers:
    // it says so, and shows nothing for him.
    expect(await status(B)).toMatchObject({
      source: 'peers',
      quorum: 1,
      covered_accounts: covered,
      uncovered_accounts: [],
    });
    expect(await status(C)).toMatchObject({
      source: 'peers',
      quorum: 2,
      covered_accounts: covered,
      uncovered_accounts: [dave.address],
    });
    expect(await freeOn(C, dave)).toBeNull();
  });

  it('a dev_setHead fork rolls the balances back on all three; the new branch’s replace them', async () => {
    await chain.rpc('dev_setHead', [b1.number - 1]);
    const b1b = await transfer(charlie, 2n * 10n ** 12n);
    expect(b1b.number).toBe(b1.number);
    expect(b1b.hash).not.toBe(b1.hash);
    await onAll(
      [A, B, C],
      async (n) => (await freeOn(n, charlie)) === `${2n * 10n ** 12n}`,
      'the new branch',
    );
    const aliceFree = await chain.freeAt(b1b.hash, alice);
    for (const n of [A, B, C]) {
      expect(await freeOn(n, bob)).toBeNull(); // bob's transfer went with its block
      expect(await freeOn(n, alice)).toBe(aliceFree);
      expect((await status(n)).reorgs).toBeGreaterThanOrEqual(1);
    }
  });

  it('a forged balance is caught by A (which watches the account) and changes nothing on C (quorum 2)', async () => {
    const before = await freeOn(C, alice);
    const forgedAt = new Promise<number>((resolve) => {
      forge = (real) => {
        resolve(real.number);
        return {
          ...real,
          events: [
            {
              txHash: real.hash,
              logIndex: -1,
              kind: 'balances.free',
              contract: 'balances',
              from: alice.address,
              to: '',
              amount: '123456789',
              raw: { topics: ['system.account'], data: '0x' },
            },
          ],
        };
      };
    });
    await chain.newBlock(); // no extrinsic: a block without events, which A still publishes
    const n = await forgedAt;

    await waitFor(
      async () => (await status(A)).peers.some((p) => p.peer_id === rogue.peerId && p.distrusted),
      20_000,
      'the forger distrusted on A',
    );
    expect((await status(A)).peers).toEqual([
      expect.objectContaining({ peer_id: rogue.peerId, disagreements: 1, last_reason: 'events' }),
    ]);
    expect((await status(A)).peer_blocks_checked).toBeGreaterThan(0);
    // C holds two publications of that block, one vote each: neither is applied.
    await waitFor(
      async () => (await status(C)).waiting.filter((w) => w.number === n && w.votes === 1).length === 2,
      20_000,
      'both versions waiting on C',
    );
    expect(await freeOn(C, alice)).toBe(before);

    // The chain goes on: C follows past the disputed block (which had no events) and shows the truth.
    const next = await transfer(bob, 3n * 10n ** 12n);
    const aliceFree = await chain.freeAt(next.hash, alice);
    await onAll([A, B, C], async (x) => (await freeOn(x, bob)) === `${3n * 10n ** 12n}`, 'the next transfer');
    for (const x of [A, B, C]) expect(await freeOn(x, alice)).toBe(aliceFree);
  });

  it('refuses a publication whose balances name accounts it does not cover, counting the reason', async () => {
    const processed = (await status(B)).processed ?? 0;
    const forged: ChainBlockAnnouncement = {
      chainId: chain.chainId,
      number: processed + 50,
      hash: `0x${'a'.repeat(64)}`,
      link: null,
      accounts: [u8aToHex(bob.publicKey)],
      events: [
        {
          txHash: `0x${'a'.repeat(64)}`,
          logIndex: -1,
          kind: 'balances.free',
          contract: 'balances',
          from: encodeAddress(alice.publicKey, 2),
          to: '',
          amount: '1',
          raw: { topics: ['system.account'], data: '0x' },
        },
      ],
    };
    await rogue.publish(topic, encodeChainBlock(forged));
    const reasons = (n: NodeProcess) => peerReasons(n, tokens.get(n), rogue.peerId);
    for (const n of [B, C]) {
      await waitFor(
        async () => ((await reasons(n)).outside_coverage ?? 0) >= 1,
        20_000,
        `reason on ${n.name}`,
      );
      expect((await status(n)).waiting.some((w) => w.number === forged.number)).toBe(false);
    }
  });
});

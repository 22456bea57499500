/**
 * Publishers watching different Substrate accounts, checked by an RPC node on a real LevelDB with blocks
 * committed by the chain store: honest publishers covering other accounts agree on what both cover;
 * a wrong balance of an account this node watches disagrees; a wrong balance of an account it does not
 * watch is not its to judge; the link is compared only between publishers covering the same accounts.
 * Also the coverage rules themselves (coverage.ts) and the digest peers vote by.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { u8aToHex } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ChainEvent, eventId } from '../../harvester/adapter.ts';
import { ChainStore } from '../../harvester/chain-store.ts';
import { StoredBlocks } from '../../harvester/peers/blocks.ts';
import { coversItsEvents } from '../../harvester/peers/coverage.ts';
import { PeerCheck } from '../../harvester/peers/peer-check.ts';
import { ChainPeerTrust } from '../../harvester/peers/trust.ts';
import { blockDigest, fromWire, toWire } from '../../harvester/peers/wire.ts';
import { freeBalanceEvent } from '../../harvester/substrate/events.ts';
import type { ChainBlockAnnouncement } from '../../protocol/gossip/index.ts';
import { Database } from '../../storage/db/database.ts';
import { silent } from './support.ts';

const CHAIN = 'polkadot:00112233445566778899aabbccddeeff';
const hash = (n: number, fork = 0) => `0x${(n * 16 + fork).toString(16).padStart(64, '0')}`;
const key = (byte: number) => new Uint8Array(32).fill(byte);
const [ALICE, BOB, CHARLIE] = [1, 2, 3].map((b) => encodeAddress(key(b), 2));
const [aliceId, bobId, charlieId] = [1, 2, 3].map((b) => u8aToHex(key(b)));

const transfer = (n: number, from: string, to: string, index: number): ChainEvent => ({
  id: eventId(CHAIN, hash(n, 9), index),
  chainId: CHAIN,
  blockNumber: n,
  blockHash: hash(n),
  txHash: hash(n, 9),
  logIndex: index,
  kind: 'balances.transfer',
  contract: 'balances',
  from,
  to,
  amount: '10',
  raw: { topics: ['balances.Transfer'], data: '0x' },
});
const free = (n: number, who: string, amount: string) =>
  freeBalanceEvent(CHAIN, { number: n, hash: hash(n) }, who, amount);

let dir: string;
let db: Database;
let check: PeerCheck;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odyssey-peer-coverage-'));
  db = new Database(join(dir, 'db'));
  await db.open();
  const store = new ChainStore({ db });
  const trust = new ChainPeerTrust({ db, logger: silent });
  // This node watches Alice and Bob: it kept Alice → Bob at 3 and Alice → Bob at 5 with their balances;
  // Charlie → ... at 4 named no account it watches, so it kept nothing there.
  check = new PeerCheck({
    chainId: CHAIN,
    store,
    blocks: new StoredBlocks(db),
    trust,
    coverage: new Set([aliceId, bobId]),
  });
  await store.applyBlock(
    CHAIN,
    { number: 3, hash: hash(3) },
    [transfer(3, ALICE, BOB, 1), free(3, ALICE, '90'), free(3, BOB, '10')],
    100,
  );
  await store.applyBlock(
    CHAIN,
    { number: 5, hash: hash(5) },
    [transfer(5, ALICE, BOB, 2), free(5, ALICE, '80'), free(5, BOB, '20')],
    100,
  );
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** What a publisher watching Bob and Charlie publishes for block 5 (it also kept Charlie's block 4). */
const bobAndCharlie = (over: Partial<ChainBlockAnnouncement> = {}): ChainBlockAnnouncement => ({
  chainId: CHAIN,
  number: 5,
  hash: hash(5),
  link: { number: 4, hash: hash(4) },
  events: [transfer(5, ALICE, BOB, 2), free(5, BOB, '20')].map(toWire),
  accounts: [bobId, charlieId],
  ...over,
});
/** What a publisher watching the same accounts as this node publishes for block 5. */
const same = (over: Partial<ChainBlockAnnouncement> = {}): ChainBlockAnnouncement => ({
  chainId: CHAIN,
  number: 5,
  hash: hash(5),
  link: { number: 3, hash: hash(3) },
  events: [transfer(5, ALICE, BOB, 2), free(5, ALICE, '80'), free(5, BOB, '20')].map(toWire),
  accounts: [bobId, aliceId],
  ...over,
});

describe('publishers watching different accounts', () => {
  it('agree on the accounts both cover, whatever else they watch or link to', async () => {
    expect(await check.compare(bobAndCharlie())).toBe('agrees');
    // Every account: this node judges its own two; the rest is the publisher's.
    const all = bobAndCharlie({ accounts: undefined });
    all.events.push(toWire(free(5, ALICE, '80')), toWire(free(5, CHARLIE, '7')));
    expect(await check.compare(all)).toBe('agrees');
    // The snapshots listed in another order: the same block.
    expect(await check.compare(same({ events: [...same().events].reverse() }))).toBe('agrees');
  });

  it('disagree on a wrong balance of an account this node watches, not on one it does not', async () => {
    expect(
      await check.compare(
        bobAndCharlie({ events: [transfer(5, ALICE, BOB, 2), free(5, BOB, '21')].map(toWire) }),
      ),
    ).toEqual({
      disagrees: 'events',
    });
    // Bob's balance left out although the publisher covers Bob: a lie by omission.
    expect(await check.compare(bobAndCharlie({ events: [toWire(transfer(5, ALICE, BOB, 2))] }))).toEqual({
      disagrees: 'events',
    });
    // A balance for Charlie, whom this node does not watch: outside what it can judge.
    const charlie = bobAndCharlie();
    charlie.events.push(toWire(free(5, CHARLIE, '999')));
    expect(await check.compare(charlie)).toBe('agrees');
    // An event at a height this node kept nothing for, naming an account it watches.
    expect(
      await check.compare(
        bobAndCharlie({ number: 4, hash: hash(4), link: null, events: [toWire(free(4, BOB, '5'))] }),
      ),
    ).toEqual({ disagrees: 'events' });
  });

  it('compares the link only with publishers covering the same accounts', async () => {
    expect(await check.compare(same())).toBe('agrees');
    expect(await check.compare(same({ link: { number: 4, hash: hash(4) } }))).toEqual({ disagrees: 'link' });
    expect(await check.compare(bobAndCharlie({ link: { number: 4, hash: hash(4) } }))).toBe('agrees');
  });

  it('refuses balances outside the declared coverage; votes apart by coverage; rebuilds snapshot ids', () => {
    const outside = bobAndCharlie();
    outside.events.push(toWire(free(5, ALICE, '80')));
    expect(coversItsEvents(outside)).toBe(false);
    expect(coversItsEvents(bobAndCharlie())).toBe(true);
    expect(coversItsEvents(bobAndCharlie({ accounts: undefined }))).toBe(true);

    expect(blockDigest(same())).toBe(blockDigest(same({ accounts: [aliceId, bobId] })));
    expect(blockDigest(same())).not.toBe(blockDigest(same({ accounts: [aliceId, bobId, charlieId] })));
    expect(blockDigest(same())).not.toBe(blockDigest(same({ accounts: undefined })));

    const events = fromWire(same()) as ChainEvent[];
    expect(events.find((e) => e.kind === 'balances.free' && e.from === ALICE)?.id).toBe(
      free(5, ALICE, '80').id,
    );
    // -1 is a snapshot's index only; a snapshot must carry it.
    const wrongIndex = same({ events: [{ ...toWire(free(5, ALICE, '80')), logIndex: 0 }] });
    expect(fromWire(wrongIndex)).toBeUndefined();
    expect(
      fromWire(same({ events: [{ ...toWire(transfer(5, ALICE, BOB, 2)), logIndex: -1 }] })),
    ).toBeUndefined();
  });
});

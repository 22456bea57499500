/**
 * The cross-check an RPC node makes of what peers publish, on a real LevelDB with blocks committed by the
 * chain store: the same block agrees; another hash, other events or another link disagrees (counted, the
 * peer distrusted until trusted again, and kept across a restart); what is older than the kept blocks
 * cannot be judged.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../harvester/adapter.ts';
import { ChainStore } from '../../harvester/chain-store.ts';
import { StoredBlocks } from '../../harvester/peers/blocks.ts';
import { PeerCheck, SETTLE_DEPTH } from '../../harvester/peers/peer-check.ts';
import { ChainPeerTrust } from '../../harvester/peers/trust.ts';
import { toWire } from '../../harvester/peers/wire.ts';
import type { ChainBlockAnnouncement } from '../../protocol/gossip/index.ts';
import { Database } from '../../storage/db/database.ts';
import { silent } from './support.ts';

const CHAIN = 'eip155:31337';
const TOKEN = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
const ALICE = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const hash = (n: number, fork = 0) => `0x${(n * 16 + fork).toString(16).padStart(64, '0')}`;
const mint = (n: number, amount: number): ChainEvent => ({
  id: '',
  chainId: CHAIN,
  blockNumber: n,
  blockHash: hash(n),
  txHash: hash(n, 9),
  logIndex: 0,
  kind: 'token.transfer',
  contract: TOKEN,
  from: '0x0000000000000000000000000000000000000000',
  to: ALICE,
  amount: `${amount}`,
  raw: { topics: [], data: '0x' },
});

let dir: string;
let db: Database;
let store: ChainStore;
let trust: ChainPeerTrust;
let check: PeerCheck;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'odyssey-peer-check-'));
  db = new Database(join(dir, 'db'));
  await db.open();
  store = new ChainStore({ db });
  trust = new ChainPeerTrust({ db, logger: silent });
  check = new PeerCheck({ chainId: CHAIN, store, blocks: new StoredBlocks(db), trust });
  // This node's own reading: events at 3 and 5, a quiet block at 6 (the end of a read range).
  await store.applyBlock(CHAIN, { number: 3, hash: hash(3) }, [mint(3, 1)], 100);
  await store.applyBlock(CHAIN, { number: 5, hash: hash(5) }, [mint(5, 2)], 100);
  await store.applyBlock(CHAIN, { number: 6, hash: hash(6) }, [], 100);
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const published = (over: Partial<ChainBlockAnnouncement> = {}): ChainBlockAnnouncement => ({
  chainId: CHAIN,
  number: 5,
  hash: hash(5),
  link: { number: 3, hash: hash(3) },
  events: [toWire(mint(5, 2))],
  ...over,
});

describe('cross-checking peers on a node with its own RPC', () => {
  it('agrees with the same block, and tells a wrong hash, events or link apart', async () => {
    expect(await check.compare(published())).toBe('agrees');
    expect(
      await check.compare(
        published({ number: 6, hash: hash(6), link: { number: 5, hash: hash(5) }, events: [] }),
      ),
    ).toBe('agrees');
    // A height read through without events (4): another publisher's quiet block there agrees.
    expect(
      await check.compare(
        published({ number: 4, hash: hash(4), link: { number: 3, hash: hash(3) }, events: [] }),
      ),
    ).toBe('agrees');
    expect(await check.compare(published({ hash: hash(5, 1) }))).toEqual({ disagrees: 'hash' });
    expect(await check.compare(published({ events: [toWire(mint(5, 3))] }))).toEqual({ disagrees: 'events' });
    expect(await check.compare(published({ events: [] }))).toEqual({ disagrees: 'events' });
    // Events at a height where this node saw none.
    expect(
      await check.compare(published({ number: 4, hash: hash(4), events: [toWire(mint(4, 1))] })),
    ).toEqual({
      disagrees: 'events',
    });
    // A link that skips block 3's events, or names another hash.
    expect(await check.compare(published({ link: null }))).toEqual({ disagrees: 'link' });
    expect(await check.compare(published({ link: { number: 3, hash: hash(3, 1) } }))).toEqual({
      disagrees: 'link',
    });
    expect(await check.compare(published({ number: 2, hash: hash(2), link: null, events: [] }))).toBe(
      'unverifiable',
    );
  });

  it('waits for its own reading, then distrusts a peer that disagrees until an operator trusts it again', async () => {
    // A block with events this node's chain never had at 8 (its 8 has another hash).
    const forged = published({ number: 8, hash: hash(8), events: [toWire(mint(8, 7))] });
    expect(await check.receive(forged, 'liar', 6)).toBe(true);
    expect(trust.isDistrusted(CHAIN, 'liar')).toBe(false);
    await store.applyBlock(CHAIN, { number: 8, hash: hash(8, 1) }, [], 100);
    await check.caughtUp(8);
    // Another hash is judged only once this node's reading is SETTLE_DEPTH blocks past it.
    expect(trust.isDistrusted(CHAIN, 'liar')).toBe(false);
    await store.applyBlock(CHAIN, { number: 8 + SETTLE_DEPTH, hash: hash(8 + SETTLE_DEPTH) }, [], 100);
    await check.caughtUp(8 + SETTLE_DEPTH);
    expect(trust.isDistrusted(CHAIN, 'liar')).toBe(true);
    expect(await check.receive(published(), 'liar', 8)).toBe(false);
    expect(await check.receive(published(), 'honest', 8)).toBe(true);
    expect(trust.of(CHAIN)).toEqual([
      expect.objectContaining({
        peerId: 'liar',
        disagreements: 1,
        distrusted: true,
        lastReason: 'hash',
        lastBlock: 8,
      }),
    ]);
    // Kept in LevelDB: a restart does not forgive.
    const again = new ChainPeerTrust({ db, logger: silent });
    await again.load();
    expect(again.isDistrusted(CHAIN, 'liar')).toBe(true);
    expect(await again.trust(CHAIN, 'liar')).toBe(true);
    expect(await again.trust(CHAIN, 'nobody')).toBe(false);
    await trust.load();
    expect(trust.isDistrusted(CHAIN, 'liar')).toBe(false);
    expect(check.checked).toBe(2);
  });

  describe('after a reorg at 0 confirmations, an honest peer is not called a liar', () => {
    /** This node's reading moved on to `n` (a quiet block), and the check caught up. */
    const reach = async (n: number) => {
      await store.applyBlock(CHAIN, { number: n, hash: hash(n) }, [], 100);
      await check.caughtUp(n);
    };
    // Block 8 with events, as a peer saw it before the chain reorganised; this node's 8 is another block.
    const before = published({
      number: 8,
      hash: hash(8, 2),
      link: { number: 5, hash: hash(5) },
      events: [toWire(mint(8, 7))],
    });

    it('when this node itself processed that block before the reorg', async () => {
      await store.applyBlock(CHAIN, before, [{ ...mint(8, 7), blockNumber: 8, blockHash: hash(8, 2) }], 100);
      check.processedBlock(before);
      await store.rollback(CHAIN, { number: 6, hash: hash(6) });
      await store.applyBlock(CHAIN, { number: 8, hash: hash(8, 1) }, [], 100);
      expect(await check.receive(before, 'honest', 8)).toBe(true);
      await reach(8 + SETTLE_DEPTH);
      expect(trust.isDistrusted(CHAIN, 'honest')).toBe(false);
      expect(check.superseded).toBe(1);
    });

    it('when the peer published another block at that height before it was judged, but not when it only moved on', async () => {
      await store.applyBlock(CHAIN, { number: 8, hash: hash(8, 1) }, [], 100);
      expect(await check.receive(before, 'republished', 8)).toBe(true);
      await check.receive(
        published({ number: 8, hash: hash(8, 1), link: { number: 5, hash: hash(5) }, events: [] }),
        'republished',
        8,
      );
      // A later block whose link passes below 8 is what any liar's next honest block looks like: no excuse.
      expect(await check.receive(before, 'moved-on', 8)).toBe(true);
      await check.receive(
        published({ number: 9, hash: hash(9), link: { number: 5, hash: hash(5) }, events: [] }),
        'moved-on',
        8,
      );
      await reach(9);
      await reach(8 + SETTLE_DEPTH);
      expect(trust.isDistrusted(CHAIN, 'republished')).toBe(false);
      expect(trust.of(CHAIN)).toEqual([
        expect.objectContaining({ peerId: 'moved-on', distrusted: true, lastReason: 'hash', lastBlock: 8 }),
      ]);
    });

    it('when both blocks are quiet; a block with events nobody retracted is still a lie', async () => {
      await store.applyBlock(CHAIN, { number: 8, hash: hash(8, 1) }, [], 100);
      await check.receive(
        published({ number: 8, hash: hash(8, 3), link: { number: 5, hash: hash(5) }, events: [] }),
        'quiet',
        8,
      );
      await check.receive(before, 'liar', 8);
      await reach(8 + SETTLE_DEPTH);
      expect(trust.isDistrusted(CHAIN, 'quiet')).toBe(false);
      expect(trust.of(CHAIN)).toEqual([
        expect.objectContaining({ peerId: 'liar', distrusted: true, lastReason: 'hash' }),
      ]);
    });
  });
});

/**
 * A chain with `"source": "peers"` on a real LevelDB: blocks apply once a quorum of distinct peers
 * published the same one, links reveal reorgs (rolled back through the chain store like an RPC reorg),
 * missed blocks are counted as gaps, and what peers may not publish is refused. Configuration names
 * its keys.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BlockVotes, MAX_HEIGHTS } from '../../harvester/peers/votes.ts';
import { loadConfig } from '../../node/config.ts';
import { Database, SCHEMA_VERSION } from '../../storage/db/database.ts';
import { ALICE, block, CHAIN, evmChain, hash, mint, TOKEN } from '../support/peer-blocks.ts';
import { type HarvesterHarness, startHarvester, until, value } from './support.ts';

const peersChain = evmChain('peers');

let h: HarvesterHarness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const balance = () => value(h!.harvester, 'bal', ALICE, CHAIN, TOKEN);
const status = async () => (await h!.harvester.status()).chains[0];

describe('a chain followed through peers', () => {
  it('applies a block once two distinct peers published the same one', async () => {
    h = await startHarvester([peersChain], { chainQuorum: 2 });
    const b5 = block(5, [mint(5, 10)], null);
    expect(await h.harvester.receivePeerBlock(b5, 'peer-1')).toBe('accept');
    // The same peer twice is one vote; another peer with other events is a vote for another block.
    expect(await h.harvester.receivePeerBlock(b5, 'peer-1')).toBe('accept');
    expect(await h.harvester.receivePeerBlock(block(5, [mint(5, 99)], null), 'peer-2')).toBe('accept');
    await new Promise((r) => setTimeout(r, 100));
    expect(await balance()).toBe('0');
    expect((await status()).sharing.feed?.waiting).toEqual([
      { number: 5, hash: hash(5), votes: 1 },
      { number: 5, hash: hash(5), votes: 1 },
    ]);
    // peer-2 changes its mind to the block peer-1 published: now two agree.
    await h.harvester.receivePeerBlock(b5, 'peer-2');
    await until(async () => (await balance()) === '10', 15_000, 'block applied');
    expect(await status()).toMatchObject({ processed: 5, health: 'ok', sharing: { source: 'peers' } });
  });

  it('rolls back blocks the publishers’ link leaves out, and a different hash at an applied height', async () => {
    h = await startHarvester([peersChain], { chainQuorum: 1 });
    const b3 = block(3, [mint(3, 1)], null);
    await h.harvester.receivePeerBlock(b3, 'p');
    await h.harvester.receivePeerBlock(block(5, [mint(5, 10)], { number: 3, hash: hash(3) }), 'p');
    await until(async () => (await balance()) === '11', 15_000, 'both blocks');
    // A quiet block at 8 whose last block with events is 3: block 5 is no longer on the chain.
    await h.harvester.receivePeerBlock(block(8, [], { number: 3, hash: hash(3) }), 'p');
    await until(async () => (await balance()) === '1', 15_000, 'block 5 rolled back');
    expect((await status()).reorgs).toBe(1);
    // Another hash at 8 (with events), linked to 3: the quiet 8 is replaced.
    await h.harvester.receivePeerBlock(block(8, [mint(8, 4)], { number: 3, hash: hash(3) }, 1), 'p');
    await until(async () => (await balance()) === '5', 15_000, 'the other block 8');
    expect((await status()).reorgs).toBe(2);
    expect((await status()).sharing.feed?.gaps).toBe(0);
  });

  it('applies a block whose predecessor it missed, counting a gap; refuses what peers may not publish', async () => {
    h = await startHarvester([peersChain], { chainQuorum: 1 });
    await h.harvester.receivePeerBlock(block(9, [mint(9, 2)], { number: 7, hash: hash(7) }), 'p');
    await until(async () => (await balance()) === '2', 15_000, 'block after a gap');
    expect((await status()).sharing.feed?.gaps).toBe(1);
    const native = { ...mint(10, 5), kind: 'native.balance' };
    expect(await h.harvester.receivePeerBlock(block(10, [native], null), 'p')).toEqual({
      reject: 'unshared_kind',
    });
    expect(await h.harvester.receivePeerBlock({ ...block(10, [], null), chainId: 'eip155:1' }, 'p')).toBe(
      'ignore',
    );
    // A stale quiet block below what was applied changes nothing.
    await h.harvester.receivePeerBlock(block(4, [], null), 'p');
    await new Promise((r) => setTimeout(r, 100));
    expect(await balance()).toBe('2');
    expect((await status()).processed).toBe(9);
  });

  it('validates source, rpcUrl and chainQuorum, naming the key', () => {
    const peers = { name: 'a', chainId: 1, source: 'peers' };
    expect(loadConfig({ flags: { chains: JSON.stringify([peers]) } }).chains[0]).toMatchObject({
      source: 'peers',
    });
    expect(() => loadConfig({ flags: { chains: [{ ...peers, rpcUrl: 'http://127.0.0.1:1' }] } })).toThrow(
      /chains\.0\.rpcUrl.*source peers takes no rpcUrl/,
    );
    expect(() => loadConfig({ flags: { chains: [{ name: 'a', chainId: 1 }] } })).toThrow(
      /chains\.0\.rpcUrl.*required unless source is peers/,
    );
    expect(() => loadConfig({ flags: { chains: [{ ...peers, source: 'gossip' }] } })).toThrow(
      /chains\.0\.source/,
    );
    expect(loadConfig({}).chainQuorum).toBe(2);
    expect(loadConfig({ env: { ODYSSEY_CHAIN_QUORUM: '1' } }).chainQuorum).toBe(1);
    expect(() => loadConfig({ flags: { chainQuorum: '0' } })).toThrow(
      /chainQuorum \(from flag --chain-quorum\)/,
    );
    expect(() => loadConfig({ flags: { chainQuorum: 'two' } })).toThrow(/chainQuorum/);
  });

  it('drops the unverified hints of the old stub when the database is upgraded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'odyssey-hints-'));
    try {
      let db = new Database(join(dir, 'db'));
      await db.open();
      // As a schema-3 node left it: hints nobody acted on, by event id.
      await db.level.sublevel('chain-hints').put(`${CHAIN}:${hash(1)}:0`, 'hint' as never);
      await db.meta.put('schema', 3);
      await db.close();
      db = new Database(join(dir, 'db'));
      await db.open();
      expect(await db.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(await db.level.sublevel('chain-hints').keys().all()).toEqual([]);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('votes under a flood', () => {
  it('keeps the next block to apply when one peer floods far heights', () => {
    const votes = new BlockVotes(2);
    const next = block(10, [mint(10, 1)], null);
    votes.vote(next, [], 'next', 'honest-1');
    for (let i = 0; i < MAX_HEIGHTS + 50; i++)
      votes.vote(block(1000 + i, [], null), [], `far-${i}`, 'flooder');
    votes.vote(next, [], 'next', 'honest-2');
    expect(votes.next()?.announcement.number).toBe(10);
    expect(votes.waiting(MAX_HEIGHTS * 2)).toHaveLength(MAX_HEIGHTS);
  });
});

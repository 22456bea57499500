/** The chain store on a real LevelDB, without a chain: replays, rollbacks, undo pruning. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChainEvent } from '../../harvester/adapter.ts';
import { ChainStore, chainTables } from '../../harvester/chain-store.ts';
import { ZERO_ADDRESS } from '../../harvester/evm/abi.ts';
import { freeBalanceEvent, touchedAccounts } from '../../harvester/substrate/events.ts';
import { Database } from '../../storage/db/database.ts';

const CHAIN = 'eip155:7';
const TOKEN = '0x00000000000000000000000000000000000000aa';
const A = '0x00000000000000000000000000000000000000a1';
const B = '0x00000000000000000000000000000000000000b1';
const hash = (n: number, fork = 0) => `0x${fork}${`${n}`.padStart(63, '0')}`;

function transfer(block: number, from: string, to: string, amount: number, fork = 0): ChainEvent {
  const txHash = `0x${'f'.repeat(60)}${`${block}`.padStart(3, '0')}${fork}`;
  return {
    id: '',
    chainId: CHAIN,
    blockNumber: block,
    blockHash: hash(block, fork),
    txHash,
    logIndex: 0,
    kind: 'token.transfer',
    contract: TOKEN,
    from,
    to,
    amount: `${amount}`,
    raw: { topics: [], data: '0x' },
  };
}

describe('chain store', () => {
  let dir: string;
  let db: Database;
  let store: ChainStore;
  const balance = async (w: string) => (await store.value('bal', w, CHAIN, TOKEN)) ?? '0';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'odyssey-chain-store-'));
    db = new Database(join(dir, 'db'));
    await db.open();
    store = new ChainStore({ db });
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies a block once, however often it is replayed', async () => {
    const events = [transfer(1, ZERO_ADDRESS, A, 10), transfer(1, ZERO_ADDRESS, A, 10)];
    events[1].logIndex = 1;
    const first = await store.applyBlock(CHAIN, { number: 1, hash: hash(1) }, events, 100);
    expect(first.events).toHaveLength(2);
    const again = await store.applyBlock(CHAIN, { number: 1, hash: hash(1) }, events, 100);
    expect(again.events).toHaveLength(0);
    expect(await balance(A)).toBe('20');
    expect(await store.checkpoint(CHAIN)).toEqual({ number: 1, hash: hash(1) });
  });

  it('rolls back to the ancestor with the undo entries, and everything when there is none', async () => {
    await store.applyBlock(CHAIN, { number: 1, hash: hash(1) }, [transfer(1, ZERO_ADDRESS, A, 100)], 100);
    await store.applyBlock(CHAIN, { number: 2, hash: hash(2) }, [transfer(2, A, B, 30)], 100);
    // Two events in one block on the same key: the undo entry holds the value before the block.
    const three = [transfer(3, A, B, 5), { ...transfer(3, A, B, 7), logIndex: 1 }];
    await store.applyBlock(CHAIN, { number: 3, hash: hash(3) }, three, 100);
    expect([await balance(A), await balance(B)]).toEqual(['58', '42']);

    const undone = await store.rollback(CHAIN, { number: 1, hash: hash(1) });
    expect(undone.events.map((e) => e.blockNumber)).toEqual([3, 3, 2]);
    expect([await balance(A), await balance(B)]).toEqual(['100', '0']);
    expect(await store.checkpoint(CHAIN)).toEqual({ number: 1, hash: hash(1) });
    // The new branch re-applies the same transfer (same tx id), now in another block.
    await store.applyBlock(CHAIN, { number: 2, hash: hash(2, 1) }, [transfer(2, A, B, 30)], 100);
    expect([await balance(A), await balance(B)]).toEqual(['70', '30']);

    await store.rollback(CHAIN, null);
    expect([await balance(A), await balance(B)]).toEqual(['0', '0']);
    expect(await store.checkpoint(CHAIN)).toBeUndefined();
    let events = 0;
    for await (const _ of chainTables(db).events.keys()) events++;
    expect(events).toBe(0);
  });

  it('keeps undo records for the reorg window only, and lists them highest first', async () => {
    for (let n = 1; n <= 20; n++) await store.applyBlock(CHAIN, { number: n, hash: hash(n) }, [], 5);
    const refs = await store.processed(CHAIN).below(21, 100);
    expect(refs.map((r) => r.number)).toEqual([20, 19, 18, 17, 16, 15]);
    expect(await store.processed(CHAIN).below(18, 2)).toEqual([
      { number: 17, hash: hash(17) },
      { number: 16, hash: hash(16) },
    ]);
  });

  it('keeps Substrate free balances from balances.free snapshots, rolls them back, and ignores malformed ones', async () => {
    const DOT = 'polkadot:0123456789abcdef0123456789abcdef';
    // Alice under Kusama's prefix (2) and as the 0x public key a user wallet holds.
    const alice = 'HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F';
    const alicePub = '0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d';
    const free = (n: number, hash: string, account: string, amount: string) =>
      freeBalanceEvent(DOT, { number: n, hash }, account, amount);
    const b1 = [
      free(1, hash(1), alice, '1000'),
      free(1, hash(1), 'not-an-address', '5'),
      free(1, hash(1), alice.slice(0, -1), '5'),
      { ...free(1, hash(1), '0x00000000000000000000000000000000000000c1', '7'), id: 'forged' },
      free(1, hash(1), '0x00000000000000000000000000000000000000c2', '-3'),
    ];
    const applied = await store.applyBlock(DOT, { number: 1, hash: hash(1) }, b1, 100);
    expect(applied.events).toHaveLength(5); // stored as events, even those that derive nothing
    // The id is recomputed from the fields, never taken from the event.
    expect(applied.events[3].id).toBe(`${DOT}:${hash(1)}:free:0x00000000000000000000000000000000000000c1`);
    expect(await store.entries('free', alicePub)).toEqual([[[DOT, alice], '1000']]);
    expect(await store.entries('free', '0x00000000000000000000000000000000000000c1')).toEqual([
      [[DOT, '0x00000000000000000000000000000000000000c1'], '7'],
    ]);
    expect(await store.entries('free', '0x00000000000000000000000000000000000000c2')).toEqual([]);

    await store.applyBlock(DOT, { number: 2, hash: hash(2) }, [free(2, hash(2), alice, '400')], 100);
    expect(await store.value('free', alicePub, DOT, alice)).toBe('400');
    await store.applyBlock(DOT, { number: 3, hash: hash(3) }, [free(3, hash(3), alice, '0')], 100);
    expect(await store.value('free', alicePub, DOT, alice)).toBeUndefined(); // reaped: absent = zero

    await store.rollback(DOT, { number: 1, hash: hash(1) });
    expect(await store.value('free', alicePub, DOT, alice)).toBe('1000');
    await store.rollback(DOT, null);
    expect(await store.entries('free', alicePub)).toEqual([]);
  });

  it('snapshots the watched accounts a block’s balance events name, each once', () => {
    const alice = 'HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F';
    const bob = 'FoQJpPyadYccjavVdTWxpxU7rUEaYhfLCPwXgkfD6Zat9QP';
    const alicePub = '0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d';
    const ev = (from: string, to: string) => ({ ...transfer(1, A, B, 1), from, to });
    const events = [ev(alice, bob), ev(bob, ''), ev(alice, '')];
    expect(touchedAccounts(events, new Set())).toEqual([alice, bob]);
    expect(touchedAccounts(events, new Set([alicePub]))).toEqual([alice]);
  });
});

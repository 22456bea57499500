/**
 * Harvester catch-up speed: a local anvil gets N blocks with one ERC-20 Transfer each (plus a stake every
 * tenth block), then a fresh harvester reads them from block 0 with getLogs ranges of several sizes.
 * Prints a markdown table: blocks/s and events/s until the checkpoint reaches the last block.
 *
 *   npm run bench:harvester                 # 10,000 blocks, ranges 500, 2000, 10000
 *   npm run bench:harvester -- --blocks=2000 --ranges=100,1000
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harvester } from '../harvester/harvester.ts';
import { Database } from '../storage/db/database.ts';
import { accounts, calldata, deployAll, startAnvil, testClient } from '../test/harvester/chain.ts';
import { anvilChain, silent } from '../test/harvester/support.ts';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const BLOCKS = Number(arg('blocks', '10000'));
const RANGES = arg('ranges', '500,2000,10000').split(',').map(Number);

const anvil = await startAnvil();
try {
  const client = testClient(anvil.url);
  const d = await deployAll(client);
  const mint = await calldata('TestToken', 'mint', [accounts[1].address, 1n]);
  const stake = await calldata('TestStaking', 'stake', [1n, 5n, 0]);
  const t0 = performance.now();
  // Exactly one transaction per block: automine off, then send and mine in turn. Unsigned requests, as
  // anvil's dev accounts are unlocked; plain fetch, because this loop is the slow part of the setup.
  await client.setAutomine(false);
  const rpc = async (id: number, method: string, params: unknown[]) => {
    const res = await fetch(anvil.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
    });
    const body = (await res.json()) as { error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
  };
  for (let i = 0; i < BLOCKS; i++) {
    const staking = i % 10 === 9;
    const tx = { from: accounts[0].address, to: staking ? d.staking : d.token, data: staking ? stake : mint };
    await rpc(i, 'eth_sendTransaction', [{ ...tx, gas: '0x30000' }]);
    await rpc(i, 'evm_mine', []);
  }
  const last = Number(await client.getBlockNumber());
  const made = performance.now() - t0;
  console.error(`made ${BLOCKS} blocks with events in ${(made / 1000).toFixed(1)} s (head ${last})`);

  console.log('| getLogs range | blocks | events | time (s) | blocks/s | events/s |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const range of RANGES) {
    const dir = await mkdtemp(join(tmpdir(), 'odyssey-bench-harvester-'));
    const db = new Database(join(dir, 'db'));
    await db.open();
    const h = new Harvester({
      db,
      logger: silent,
      chains: [anvilChain(anvil.url, d, { maxBlockRange: range, pollIntervalMs: 10 })],
    });
    let events = 0;
    const done = new Promise<void>((resolve) =>
      h.on('block', (b) => {
        events += b.events.length;
        if (b.block.number >= last) resolve();
      }),
    );
    const start = performance.now();
    await h.start();
    await done;
    const s = (performance.now() - start) / 1000;
    await h.stop();
    await db.close();
    await rm(dir, { recursive: true, force: true });
    const fmt = (n: number) => Math.round(n).toLocaleString('en');
    console.log(
      `| ${range} | ${fmt(last + 1)} | ${fmt(events)} | ${s.toFixed(2)} | ${fmt((last + 1) / s)} | ${fmt(events / s)} |`,
    );
  }
} finally {
  await anvil.stop();
}

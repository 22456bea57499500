/**
 * RPCs that misbehave: a refused getLogs range shrinks, a flaky RPC is retried, an unreachable or wrong
 * RPC is an error in the status (never a crash), and a ws:// URL works the same as http.
 */
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chainTables } from '../../harvester/chain-store.ts';
import {
  type Anvil,
  accounts,
  type Client,
  type Deployed,
  deployAll,
  send,
  startAnvil,
  testClient,
} from './chain.ts';
import { type RpcProxy, startProxy } from './rpc-proxy.ts';
import { anvilChain, type HarvesterHarness, processed, startHarvester, until, value } from './support.ts';

const CHAIN = 'eip155:31337';
const bob = accounts[2].address.toLowerCase();

describe('harvester and unreliable RPCs', () => {
  let anvil: Anvil;
  let client: Client;
  let d: Deployed;
  let last: number;
  let h: HarvesterHarness | undefined;
  let proxy: RpcProxy | undefined;

  beforeAll(async () => {
    anvil = await startAnvil();
    client = testClient(anvil.url);
    d = await deployAll(client);
    await send(client, d.token, 'TestToken', 'mint', [accounts[1].address, 1000n]);
    for (let i = 0; i < 5; i++) await send(client, d.token, 'TestToken', 'transfer', [bob, 2n], 1);
    await client.mine({ blocks: 200 });
    last = (await send(client, d.token, 'TestToken', 'transfer', [bob, 2n], 1)).block;
  });
  afterAll(async () => {
    await anvil.stop();
  });
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
    await proxy?.close();
    proxy = undefined;
  });

  it('shrinks the getLogs range when the RPC refuses it, and grows it back', async () => {
    proxy = await startProxy(anvil.url, { maxLogRange: 16 });
    h = await startHarvester([anvilChain(proxy.url, d, { maxBlockRange: 100 })]);
    await processed(h.harvester, last);
    expect(await value(h.harvester, 'bal', bob, CHAIN, d.token.toLowerCase())).toBe('12');
    expect(proxy.refused).toBeGreaterThan(0);
    const ranges = proxy.ranges;
    // 100, 50 and 25 refused, 12 accepted; after a run of successes it tries 24 again, and halves back.
    expect(ranges.slice(0, 4)).toEqual([100, 50, 25, 12]);
    expect(Math.max(...ranges.slice(4))).toBeLessThanOrEqual(24);
    const status = (await h.harvester.status()).chains[0];
    expect(status).toMatchObject({ health: 'ok', processed: last, lastError: null });
    expect(status.rangeSize).toBeLessThanOrEqual(16);
  });

  it('gets through an RPC that fails every second call', async () => {
    proxy = await startProxy(anvil.url, { failEvery: 2 });
    h = await startHarvester([anvilChain(proxy.url, d, { maxBlockRange: 50 })]);
    await processed(h.harvester, last, 20_000);
    expect(await value(h.harvester, 'bal', bob, CHAIN, d.token.toLowerCase())).toBe('12');
    expect(proxy.failed).toBeGreaterThan(5);
  });

  it('reports an unreachable RPC in its status and keeps retrying, without crashing', async () => {
    // A port that was free a moment ago: connection refused.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    h = await startHarvester([anvilChain(`http://127.0.0.1:${port}`, d)]);
    await until(async () => (await h!.harvester.status()).chains[0].lastError !== null);
    const status = (await h.harvester.status()).chains[0];
    expect(status.health).toBe('degraded');
    expect(status.processed).toBeNull();
    expect(status.lastError).toMatch(/HTTP request failed|fetch failed/i);
  });

  it('refuses an RPC that serves another chain than configured', async () => {
    h = await startHarvester([anvilChain(anvil.url, d, { chainId: 1 })]);
    await until(async () => (await h!.harvester.status()).chains[0].lastError !== null);
    expect((await h.harvester.status()).chains[0].lastError).toMatch(
      /serves chain 31337, configured chainId is 1/,
    );
    expect(await chainTables(h.db).checkpoints.get('eip155:1')).toBeUndefined();
  });

  it('follows over a WebSocket URL too', async () => {
    h = await startHarvester([anvilChain(anvil.wsUrl, d, { pollIntervalMs: 5000 })]);
    await processed(h.harvester, last);
    // New heads arrive by subscription, long before the 5 s poll.
    const { block } = await send(client, d.token, 'TestToken', 'transfer', [bob, 1n], 1);
    await processed(h.harvester, block, 3000);
    expect(await value(h.harvester, 'bal', bob, CHAIN, d.token.toLowerCase())).toBe('13');
  });
});

/**
 * The harvester's lag in GET /metrics of a real node following a real chain (anvil on loopback): one
 * series per configured chain, head − processed block, 0 once it has caught up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeConfig } from '../../node/config.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { type Anvil, deployAll, startAnvil, testClient } from './chain.ts';
import { anvilChain, until } from './support.ts';

describe('harvester metrics', () => {
  let anvil: Anvil;
  let node: TestNode | undefined;
  beforeAll(async () => {
    anvil = await startAnvil();
  });
  afterAll(async () => {
    await node?.cleanup();
    await anvil?.stop();
  });

  it('reports the lag per chain', async () => {
    const d = await deployAll(testClient(anvil.url));
    const chains = [anvilChain(anvil.url, d)] as unknown as NodeConfig['chains'];
    node = await startNode({ chains, metrics: 'on' });
    const lag = async () => {
      const text = await (await fetch(`${node?.url}/metrics`)).text();
      const m = /^odyssey_harvester_lag_blocks\{chain="anvil"\} (\d+)$/m.exec(text);
      return m ? Number(m[1]) : undefined;
    };
    await until(async () => (await lag()) === 0, 20_000, 'the harvester caught up, as /metrics says');
    const status = await node.node.harvester.status();
    expect(status.chains[0].lag).toBe(0);
  }, 60_000);
});

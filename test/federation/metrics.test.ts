/**
 * Federation in GET /metrics, with two real node processes on loopback: A trusts B, B trusts nobody. Each
 * sees one connected peer; A counts B's gossip as accepted, B counts A's as rejected (untrusted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, federationFlags, type NodeProcess, prepareNode, waitFor } from '../support/federation.ts';

let A: NodeProcess;
let B: NodeProcess;

const metric = async (node: NodeProcess, line: RegExp) => {
  const m = line.exec(await (await fetch(`${node.url}/metrics`)).text());
  return m ? Number(m[1]) : undefined;
};

beforeAll(async () => {
  [A, B] = await Promise.all([prepareNode('a'), prepareNode('b')]);
  await Promise.all([
    A.start([...federationFlags(A, [A, B]), '--metrics', 'on']),
    B.start([...federationFlags(B, [A, B], [B]), '--metrics', 'on']),
  ]);
}, 60_000);

afterAll(async () => {
  await cleanup([A, B]);
}, 60_000);

describe('federation metrics', () => {
  it('counts connected peers and gossip accepted and rejected', async () => {
    await waitFor(
      async () => (await metric(A, /^odyssey_federation_peers (\d+)$/m)) === 1,
      15_000,
      'A sees B',
    );
    expect(await metric(B, /^odyssey_federation_peers (\d+)$/m)).toBe(1);
    await waitFor(
      async () =>
        ((await metric(A, /^odyssey_gossip_messages_total\{verdict="accepted"\} (\d+)$/m)) ?? 0) > 0,
      15_000,
      "A accepts B's announcements",
    );
    await waitFor(
      async () =>
        ((await metric(B, /^odyssey_gossip_messages_total\{verdict="rejected"\} (\d+)$/m)) ?? 0) > 0,
      15_000,
      "B rejects A's announcements",
    );
    expect(await metric(B, /^odyssey_gossip_messages_total\{verdict="accepted"\} (\d+)$/m)).toBe(0);
  }, 60_000);
});

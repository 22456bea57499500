/**
 * The node directory and the nearest node, with three real node processes on loopback, each announcing
 * its own loopback URL, a region, a geo and a capacity: A in Berlin (2 sessions), B in New York (10),
 * C in Tokyo (10). A believes a client geo header, B a client region header, C neither. With one guest on
 * A (half full) and one on C, the load order is B, C, A; for a caller in Tokyo the geo order is C, A, B.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNearest,
  type NearestConnection,
  type NearestOptions,
  NoNodeReachableError,
} from '../../protocol/client/index.ts';
import { cleanup, federationFlags, type NodeProcess, prepareNode, waitFor } from '../support/federation.ts';
import { connectGuest, guest, type TestClient } from '../support/node.ts';

const WORLD = '5e1f0d2c-7a41-4c39-9b1e-0d0000000001';
const TOKYO_CALLER = '35.6,139.8';

interface DirectoryNode {
  peerId: string;
  self: boolean;
  url: string | null;
  region: string | null;
  geo: { lat: number; lon: number } | null;
  load: { sessions: number; maxSessions: number; free: number; cpu: number } | null;
  worlds: number;
  lastSeenAt: number;
}
interface Nearest {
  basis: string;
  candidates: {
    peerId: string;
    url: string;
    hostsWorld: boolean;
    distanceKm: number | null;
    reason: string;
  }[];
  leftOut: { peerId: string; reason: string }[];
}

let A: NodeProcess;
let B: NodeProcess;
let C: NodeProcess;
let D: NodeProcess;
const guests: TestClient[] = [];

const get = async <T>(node: NodeProcess, path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${node.url}/api/v4${path}`, { headers });
  return { status: res.status, body: (await res.json()) as T };
};
const nodesOf = async (node: NodeProcess) => (await get<DirectoryNode[]>(node, '/nodes')).body;
const nearest = async (node: NodeProcess, headers: Record<string, string> = {}) =>
  (await get<Nearest>(node, `/nodes/nearest?world=${WORLD}`, headers)).body;
const order = (n: Nearest) => n.candidates.map((c) => c.peerId);
/**
 * Loopback round trips differ by noise only (and by a lot on a busy host): a wide tolerance leaves the
 * choice to the node's ranking, which is what these tests check.
 */
const SAME_RTT_MS = 5000;
/** A loaded host can take seconds to answer `/health`; a failed probe would reorder the candidates. */
const PROBE_TIMEOUT_MS = 10_000;
const signIn = async (url: string) => {
  const g = await guest({ url });
  return { token: g.token, userId: g.id };
};

/**
 * `connectNearest` from C, asked again (a new connection each time) until C ranks B first. B's announced
 * sessions (a client that just left) and CPU (a busy host) reach C with an announcement's delay and can put
 * C ahead for a moment; which node is best is the node's ranking, checked above, while these tests check
 * what the client does with it.
 */
async function connectViaC(options: Pick<NearestOptions, 'signIn'>): Promise<NearestConnection> {
  for (let attempt = 1; ; attempt++) {
    const conn = await connectNearest(C.url, {
      world: WORLD,
      reconnect: false,
      rttToleranceMs: SAME_RTT_MS,
      probeTimeoutMs: PROBE_TIMEOUT_MS,
      ...options,
    });
    if (conn.candidates[0]?.url === B.url || attempt === 30) return conn;
    await conn.client.close();
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  [A, B, C] = await Promise.all([prepareNode('a'), prepareNode('b'), prepareNode('c')]);
  const own = new Map<NodeProcess, string[]>([
    [
      A,
      [
        '--geo',
        '52.52,13.40',
        '--region',
        'eu-central',
        '--max-sessions',
        '2',
        '--geo-header',
        'X-Client-Geo',
      ],
    ],
    [
      B,
      [
        '--geo',
        '40.71,-74.01',
        '--region',
        'us-east',
        '--max-sessions',
        '10',
        '--region-header',
        'X-Client-Region',
      ],
    ],
    [C, ['--geo', '35.68,139.69', '--region', 'ap-northeast', '--max-sessions', '10']],
  ]);
  // One after the other: three node processes starting at once on a busy 2-core host can miss the
  // start timeout.
  for (const n of [A, B, C]) {
    await n.start([...federationFlags(n, [A, B, C]), '--public-url', n.url, ...(own.get(n) ?? [])]);
  }
  for (const node of [A, C]) guests.push(await connectGuest({ url: node.url, wsUrl: node.wsUrl }));
  await waitFor(
    async () => {
      for (const n of [A, B, C]) {
        const sessions = (await nodesOf(n)).map((d) => `${d.peerId}:${d.load?.sessions}`).sort();
        const expected = [`${A.peerId}:1`, `${B.peerId}:0`, `${C.peerId}:1`].sort();
        if (sessions.join() !== expected.join()) return false;
      }
      return true;
    },
    30_000,
    'every node to list all three with their sessions',
  );
}, 90_000);

afterAll(async () => {
  await Promise.all(guests.map((g) => g.client.close()));
  await cleanup([A, B, C, ...(D ? [D] : [])]);
}, 60_000);

describe('node directory and the nearest node', () => {
  it('GET /nodes lists every node without a token: URL, region, geo, load, worlds, itself marked', async () => {
    const list = await nodesOf(B);
    expect(list).toHaveLength(3);
    const a = list.find((n) => n.peerId === A.peerId);
    expect(a).toMatchObject({
      self: false,
      url: A.url,
      region: 'eu-central',
      geo: { lat: 52.52, lon: 13.4 },
      load: { sessions: 1, maxSessions: 2, free: 1 },
    });
    expect(a?.worlds).toBeGreaterThanOrEqual(1);
    expect(Date.now() - (a?.lastSeenAt ?? 0)).toBeLessThan(4000);
    expect(list.find((n) => n.self)?.peerId).toBe(B.peerId);
  });

  it('ranks by the geo header where the operator configured it, else by load', async () => {
    const byGeo = await nearest(A, { 'X-Client-Geo': TOKYO_CALLER });
    expect(byGeo.basis).toBe('geo');
    expect(order(byGeo)).toEqual([C.peerId, A.peerId, B.peerId]);
    expect(byGeo.candidates[0]).toMatchObject({ url: C.url, hostsWorld: true });
    expect(byGeo.candidates[0].distanceKm).toBeLessThan(50);
    expect(byGeo.candidates[0].reason).toMatch(/km away; hosts the world; 1\/10 sessions/);

    // C was not told to believe any header: the same caller gets the load order.
    const byLoad = await nearest(C, { 'X-Client-Geo': TOKYO_CALLER });
    expect(byLoad.basis).toBe('load');
    expect(order(byLoad)).toEqual([B.peerId, C.peerId, A.peerId]);
    // A bad geo value is no geo at all.
    expect((await nearest(A, { 'X-Client-Geo': 'north,pole' })).basis).toBe('load');
  });

  it('ranks by the region header where configured, then by load', async () => {
    const byRegion = await nearest(B, { 'X-Client-Region': 'eu-central' });
    expect(byRegion.basis).toBe('region');
    expect(order(byRegion)).toEqual([A.peerId, B.peerId, C.peerId]);
    expect(byRegion.candidates[0].reason).toMatch(/in your region eu-central/);
  });

  it('answers 404 for a world no node announces, 400 for a bad id', async () => {
    expect((await get(A, '/nodes/nearest?world=5e1f0d2c-7a41-4c39-9b1e-0d00000000ff')).status).toBe(404);
    expect((await get(A, '/nodes/nearest?world=plaza')).status).toBe(400);
  });

  it('connectNearest picks the best node, passes over one that refuses, and fails over when it is stopped', async () => {
    const best = await connectViaC({ signIn });
    expect(best.candidates[0]?.url, JSON.stringify(best.candidates)).toBe(B.url);
    expect(best.node.url, JSON.stringify(best.attempts)).toBe(B.url);
    expect(best.world?.id).toBe(WORLD);
    expect(best.attempts[0].rttMs).toBeGreaterThan(0);
    await best.client.close();

    // B refuses the handshake (a token B did not issue): the next candidate, C, is used.
    const refused = await connectViaC({
      signIn: async (url) => (url === B.url ? signIn(C.url) : signIn(url)),
    });
    expect(refused.candidates[0]?.url, JSON.stringify(refused.candidates)).toBe(B.url);
    expect(refused.node.url).toBe(C.url);
    expect(refused.attempts.map((a) => a.url)).toEqual([B.url, C.url]);
    expect(refused.attempts[0].error).toBeTruthy();
    await refused.client.close();

    await B.stop();
    // B is still in the directory (not silent long enough): its probe fails and C takes its place.
    expect(order(await nearest(C))).toContain(B.peerId);
    const failover = await connectNearest(C.url, {
      world: WORLD,
      signIn,
      reconnect: false,
      rttToleranceMs: SAME_RTT_MS,
      probeTimeoutMs: PROBE_TIMEOUT_MS,
    });
    expect(failover.node.url).toBe(C.url);
    expect(failover.attempts.find((a) => a.url === B.url)?.rttMs ?? null).toBeNull();
    await failover.client.close();
  }, 90_000);

  it('a stopped node leaves the directory after the silence timeout', async () => {
    // B was stopped by the test before (again here, so that a failure there does not fail this one too);
    // the flags say 4 s of silence.
    await B.stop();
    // Each node drops B on its own clock, counted from the last announcement it heard.
    for (const node of [A, C]) {
      await waitFor(
        async () => (await nodesOf(node)).every((n) => n.peerId !== B.peerId),
        15_000,
        `B to leave ${node.name}'s directory`,
      );
    }
    expect((await nodesOf(C)).map((n) => n.peerId).sort()).toEqual([A.peerId, C.peerId].sort());
    expect(order(await nearest(C))).not.toContain(B.peerId);
  });

  it('leaves out a node without a public URL and says so; with no candidate the base node serves', async () => {
    // B back without --public-url: listed, but not offered to browsers.
    await B.start(federationFlags(B, [A, B, C]));
    await waitFor(
      async () => (await nodesOf(A)).some((n) => n.peerId === B.peerId && n.url === null),
      20_000,
      'B listed again, without a URL',
    );
    const answer = await nearest(A);
    expect(answer.leftOut).toEqual([{ peerId: B.peerId, name: expect.any(String), reason: 'no_public_url' }]);
    expect(order(answer)).toEqual([C.peerId, A.peerId]);

    // D trusts nobody and is trusted by nobody, and has no public URL: it offers no candidate, so the
    // client connects to D itself.
    D = await prepareNode('d');
    await D.start([]);
    const own = await connectNearest(D.url, { world: WORLD, signIn, reconnect: false });
    expect(own.candidates).toEqual([]);
    expect(own.node.url).toBe(D.url);
    expect(own.world?.id).toBe(WORLD);
    await own.client.close();
    await expect(
      connectNearest('http://127.0.0.1:9', {
        world: WORLD,
        signIn,
        reconnect: false,
        connectTimeoutMs: 2000,
      }),
    ).rejects.toBeInstanceOf(NoNodeReachableError);
  }, 120_000); // two node processes start in this test
});

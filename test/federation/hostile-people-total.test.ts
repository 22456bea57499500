/**
 * Under `--trust all` anyone can be as many nodes as they like, each showing up to MAX_PEOPLE_PER_NODE
 * people: `--max-remote-people` bounds everyone of other nodes shown here at once. A node with a small
 * bound and two test peers of its own (test-peer.ts, loopback) announcing people.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import {
  encodePeople,
  type PeopleMessage,
  peopleTopic,
  type RemotePerson,
} from '../../protocol/gossip/index.ts';
import { waitFor } from '../support/federation.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { dialableNode, startTestPeer, type TestPeer } from '../support/test-peer.ts';

const WORLD = DEFAULT_WORLD_ID;
const BOUND = 30;
let node: TestNode;
let a: TestPeer;
let b: TestPeer;

beforeAll(async () => {
  a = await startTestPeer('crowd-a');
  b = await startTestPeer('crowd-b');
  node = await startNode({ trust: 'all', maxRemotePeople: BOUND, peerSilenceTimeoutMs: 120_000 });
  const self = dialableNode(node);
  for (const peer of [a, b]) {
    await peer.dial([self]);
    await peer.subscribe(peopleTopic(WORLD), [self]);
  }
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await node?.cleanup();
});

const received = () => node.node.federation.traffic().people?.received ?? 0;
const room = () => [...node.node.worlds.roomsInUse()].find((r) => r.worldId === WORLD);
const shown = () => room()?.size ?? 0;
const refused = (peer: TestPeer) =>
  node.node.federation.peers.stats(peer.peerId).reasons.too_many_people ?? 0;
const person = (): RemotePerson => ({
  id: crypto.randomUUID(),
  name: 'visitor',
  isGuest: true,
  pose: { position: { x: 1, y: 0, z: 1 }, rotation: { x: 0, y: 0, z: 0 } },
});
const crowd = (n: number) => Array.from({ length: n }, () => person());

/** Publishes and waits until the node has judged it (the validator counts before it runs the handler). */
async function people(peer: TestPeer, m: PeopleMessage): Promise<void> {
  const before = received();
  await peer.publish(peopleTopic(WORLD), encodePeople(m));
  await waitFor(() => received() > before, 30_000, 'the node to judge a people message');
}

describe('people of other nodes, over all of them', () => {
  it('shows at most --max-remote-people, refusing whole what would pass it, whichever node sends it', async () => {
    const ofA = crowd(20);
    await people(a, { t: 'roster', people: ofA, complete: true });
    expect(shown()).toBe(20);
    // Another node, far under the per-node bound, but past the bound over all nodes: nobody of it is added.
    await people(b, { t: 'roster', people: crowd(20), complete: false });
    expect(refused(b)).toBe(1);
    expect(shown()).toBe(20);
    // Up to the bound, one at a time; then no more.
    for (const p of crowd(10)) await people(b, { t: 'join', person: p });
    expect(shown()).toBe(BOUND);
    await people(b, { t: 'join', person: person() });
    expect(refused(b)).toBe(2);
    expect(shown()).toBe(BOUND);
    // Someone of A's moving to B adds no one: taken at the bound.
    await people(b, { t: 'join', person: ofA[0] });
    expect(room()?.member(ofA[0].id)).toBeDefined();
    expect(shown()).toBe(BOUND);
    // Below the bound again (A's people leave), B is taken at its word.
    await people(a, { t: 'roster', people: [], complete: true });
    await waitFor(() => shown() === 11, 15_000, "A's people to leave");
    const late = person();
    await people(b, { t: 'join', person: late });
    expect(room()?.member(late.id)).toBeDefined();
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  }, 120_000);
});

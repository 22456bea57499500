/**
 * Under `--trust all` anyone can be as many nodes as they like, each showing up to MAX_PEOPLE_PER_NODE
 * people: `--max-remote-people` bounds everyone of other nodes shown here at once. What would pass it is
 * ignored, not held against the node that sent it. A node with a small bound and two test peers of its
 * own (test-peer.ts, loopback) announcing people.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeopleMessage } from '../../protocol/gossip/index.ts';
import { waitFor } from '../support/federation.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { meshWith, publishPeople, roomOf, visitor, visitors } from '../support/people.ts';
import { startTestPeer, type TestPeer } from '../support/test-peer.ts';

const BOUND = 30;
let node: TestNode;
let a: TestPeer;
let b: TestPeer;

beforeAll(async () => {
  a = await startTestPeer('crowd-a');
  b = await startTestPeer('crowd-b');
  node = await startNode({ trust: 'all', maxRemotePeople: BOUND, peerSilenceTimeoutMs: 120_000 });
  await meshWith(a, node);
  await meshWith(b, node);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await node?.cleanup();
});

const room = () => roomOf(node);
const shown = () => room()?.size ?? 0;
const rejected = (peer: TestPeer) => node.node.federation.peers.stats(peer.peerId).rejected;
const person = visitor;
const crowd = visitors;
const people = (peer: TestPeer, m: PeopleMessage) => publishPeople(peer, node, m);

describe('people of other nodes, over all of them', () => {
  it('shows at most --max-remote-people, ignoring whole what would pass it, whichever node sends it', async () => {
    const ofA = crowd(20);
    // A person listed twice counts once.
    await people(a, { t: 'roster', people: [...ofA, ofA[0]], complete: true });
    expect(shown()).toBe(20);
    // Another node, far under the per-node bound, but past the bound over all nodes: nobody of it is
    // added, and it is not held against that node (others filled the bound).
    await people(b, { t: 'roster', people: crowd(20), complete: false });
    expect(shown()).toBe(20);
    // Up to the bound, one at a time; then no more.
    for (const p of crowd(10)) await people(b, { t: 'join', person: p });
    expect(shown()).toBe(BOUND);
    const turnedAway = person();
    await people(b, { t: 'join', person: turnedAway });
    expect(room()?.member(turnedAway.id)).toBeUndefined();
    expect(shown()).toBe(BOUND);
    expect(rejected(b)).toBe(0);
    // Someone of A's moving to B adds no one: taken at the bound.
    await people(b, { t: 'join', person: ofA[0] });
    expect(room()?.member(ofA[0].id)).toBeDefined();
    expect(shown()).toBe(BOUND);
    // A complete roster that lets 9 of its people go and brings 5 is judged with the room it makes.
    const stay = ofA.slice(1, 11);
    const newcomers = crowd(5);
    await people(a, { t: 'roster', people: [...stay, ...newcomers], complete: true });
    expect(shown()).toBe(BOUND - 9 + 5);
    expect(newcomers.every((p) => room()?.member(p.id))).toBe(true);
    // Filled to the bound exactly, and not one more.
    for (const p of crowd(4)) await people(b, { t: 'join', person: p });
    expect(shown()).toBe(BOUND);
    await people(b, { t: 'join', person: person() });
    expect(shown()).toBe(BOUND);
    expect(rejected(a) + rejected(b)).toBe(0);
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  }, 120_000);

  it("shows a person again with their node's next roster after another node claimed them with a pose refused here", async () => {
    await people(a, { t: 'roster', people: [], complete: true });
    await waitFor(() => shown() < BOUND, 15_000, "A's people to leave");
    const p = person();
    await people(a, { t: 'join', person: p });
    expect(room()?.member(p.id)).toBeDefined();
    const far = { ...p, pose: { ...p.pose, position: { x: 1e12, y: 0, z: 0 } } };
    await people(b, { t: 'join', person: far });
    // Out of the world's bound: B's copy is not shown, and A's next roster shows A's again.
    await people(a, { t: 'roster', people: [p], complete: false });
    expect(room()?.member(p.id)).toBeDefined();
  }, 60_000);
});

/**
 * A trusted but hostile peer announcing more people than any node serves: the node shows at most
 * MAX_PEOPLE_PER_NODE of one node, refuses a join or roster past it whole, and takes the node at its word
 * again below it. A node and a test peer of its own (test-peer.ts, loopback): 20,000 people are heavy, and
 * what other hostile cases leave behind on a shared node must not weigh on them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PEOPLE_PER_NODE } from '../../node/federation/people-bounds.ts';
import { MAX_ROSTER, type PeopleMessage } from '../../protocol/gossip/index.ts';
import { waitFor } from '../support/federation.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { meshWith, publishPeople, roomOf, visitor } from '../support/people.ts';
import { startTestPeer, type TestPeer } from '../support/test-peer.ts';

let node: TestNode;
let peer: TestPeer;

beforeAll(async () => {
  peer = await startTestPeer('crowd');
  node = await startNode({ trust: peer.peerId, peerSilenceTimeoutMs: 120_000 });
  await meshWith(peer, node);
}, 60_000);

afterAll(async () => {
  await peer?.stop();
  await node?.cleanup();
});

const reasons = () => node.node.federation.peers.stats(peer.peerId).reasons;
const room = () => roomOf(node);
const person = visitor;
const people = (m: PeopleMessage) => publishPeople(peer, node, m);

describe('a peer with more people than any node serves', () => {
  it('shows at most MAX_PEOPLE_PER_NODE people of one node; a roster past it adds no one', async () => {
    // A complete, empty roster: nobody of this node is shown here any more.
    await people({ t: 'roster', people: [], complete: true });
    const shownBefore = room()?.size ?? 0;
    for (let n = 0; n < MAX_PEOPLE_PER_NODE; n += MAX_ROSTER) {
      const batch = Array.from({ length: Math.min(MAX_ROSTER, MAX_PEOPLE_PER_NODE - n) }, () => person());
      await people({ t: 'roster', people: batch, complete: false });
    }
    await waitFor(
      () => (room()?.size ?? 0) === shownBefore + MAX_PEOPLE_PER_NODE,
      30_000,
      'the node to show every person up to the bound',
    );
    const rejectedBefore = reasons().too_many_people ?? 0;
    await people({ t: 'join', person: person() });
    await people({ t: 'roster', people: [person(), person()], complete: false });
    expect(reasons().too_many_people).toBe(rejectedBefore + 2);
    expect(room()?.size).toBe(shownBefore + MAX_PEOPLE_PER_NODE);
    // Below the bound again, the node is taken at its word as before.
    await people({ t: 'roster', people: [], complete: true });
    await waitFor(() => (room()?.size ?? 0) === shownBefore, 30_000, 'everyone to leave');
    const late = person();
    await people({ t: 'join', person: late });
    expect(room()?.member(late.id)).toBeDefined();
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  }, 120_000);
});

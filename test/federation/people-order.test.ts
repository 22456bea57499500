/**
 * Joins, leaves and rosters of another node applied in the order they were sent (their `at`), not the
 * order gossip delivers them in: a leave overtaken by the rejoin after it, a join sent again after its
 * person left, a roster made before a join, or a message from long ago change nobody. Messages of nodes
 * that send no `at` (earlier versions) are taken as they come. A node and a test peer (loopback) that
 * publishes people messages as the other node would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeopleOrder } from '../../node/federation/people-order.ts';
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

// The seeded world: the node holds it, so it hears the world's people.
const WORLD = DEFAULT_WORLD_ID;
let node: TestNode;
let peer: TestPeer;

beforeAll(async () => {
  peer = await startTestPeer('order');
  node = await startNode({ trust: peer.peerId, peerSilenceTimeoutMs: 120_000 });
  const self = dialableNode(node);
  await peer.dial([self]);
  await peer.subscribe(peopleTopic(WORLD), [self]);
}, 60_000);

afterAll(async () => {
  await peer?.stop();
  await node?.cleanup();
});

const reasons = () => node.node.federation.peers.stats(peer.peerId).reasons;
const received = () => node.node.federation.traffic().people?.received ?? 0;
const room = () => [...node.node.worlds.roomsInUse()].find((r) => r.worldId === WORLD);
const shown = (p: RemotePerson) => room()?.member(p.id) !== undefined;
const person = (): RemotePerson => ({
  id: crypto.randomUUID(),
  name: 'visitor',
  isGuest: true,
  pose: { position: { x: 1, y: 0, z: 1 }, rotation: { x: 0, y: 0, z: 0 } },
});

/** Publishes and waits until the node has judged it (the validator counts before it runs the handler). */
async function people(m: PeopleMessage): Promise<void> {
  const before = received();
  await peer.publish(peopleTopic(WORLD), encodePeople(m));
  await waitFor(() => received() > before, 30_000, 'the node to judge a people message');
}

describe('people messages in the order their node sent them', () => {
  it('ignores a leave overtaken by the rejoin after it, and a join sent again after its person left', async () => {
    const ann = person();
    const t = Date.now();
    await people({ t: 'join', person: ann, at: t });
    expect(shown(ann)).toBe(true);
    // Ann left at t - 1 and rejoined at t; the leave arrives last.
    await people({ t: 'leave', userId: ann.id, at: t - 1 });
    expect(shown(ann)).toBe(true);
    await people({ t: 'leave', userId: ann.id, at: t + 10 });
    expect(shown(ann)).toBe(false);
    // The join at t, sent again (or overtaken on another path): Ann stays gone.
    await people({ t: 'join', person: ann, at: t });
    expect(shown(ann)).toBe(false);
    // A leave that overtook its join: the join arrives after, and is not news either.
    const bob = person();
    await people({ t: 'leave', userId: bob.id, at: t + 20 });
    await people({ t: 'join', person: bob, at: t + 15 });
    expect(shown(bob)).toBe(false);
    // Later joins are taken.
    await people({ t: 'join', person: ann, at: t + 30 });
    expect(shown(ann)).toBe(true);
  }, 60_000);

  it('keeps someone who joined after a complete roster was made, and removes those the roster left out', async () => {
    const early = person();
    const late = person();
    const t = Date.now();
    await people({ t: 'join', person: early, at: t });
    await people({ t: 'join', person: late, at: t + 20 });
    // Made at t + 10, before `late` joined: it knows `early` has left, not `late`.
    await people({ t: 'roster', people: [], complete: true, at: t + 10 });
    expect(shown(early)).toBe(false);
    expect(shown(late)).toBe(true);
    // A roster older than `late`'s join does not bring back someone it lists who left after it.
    await people({ t: 'leave', userId: late.id, at: t + 30 });
    await people({ t: 'roster', people: [late], complete: false, at: t + 25 });
    expect(shown(late)).toBe(false);
  }, 60_000);

  it('refuses a message from long ago or from the future, whole', async () => {
    const ghost = person();
    const staleBefore = reasons().stale ?? 0;
    const skewBefore = reasons().clock_skew ?? 0;
    await people({ t: 'join', person: ghost, at: Date.now() - 60 * 60_000 });
    await people({ t: 'roster', people: [ghost], complete: false, at: Date.now() + 60 * 60_000 });
    expect(shown(ghost)).toBe(false);
    expect(reasons().stale).toBe(staleBefore + 1);
    expect(reasons().clock_skew).toBe(skewBefore + 1);
  }, 60_000);

  it('takes messages without `at`, as nodes of earlier versions send them, as they come', async () => {
    const old = person();
    await people({ t: 'join', person: old });
    expect(shown(old)).toBe(true);
    await people({ t: 'leave', userId: old.id });
    expect(shown(old)).toBe(false);
    await people({ t: 'join', person: old });
    expect(shown(old)).toBe(true);
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  }, 60_000);
});

describe('PeopleOrder', () => {
  it('stamps its own messages strictly increasing, also within one millisecond and after the clock stepped back', () => {
    const order = new PeopleOrder({ maxAgeMs: 1000, maxClockSkewMs: 1000, maxEntries: 10 });
    expect([order.stamp(5000), order.stamp(5000), order.stamp(4000), order.stamp(6000)]).toEqual([
      5000, 5001, 5002, 6000,
    ]);
  });

  it('forgets the stalest people past its bound, so a hostile node cannot grow it', () => {
    const order = new PeopleOrder({ maxAgeMs: 1000, maxClockSkewMs: 1000, maxEntries: 2 });
    expect(order.advance('w', 'a', 'n', 10)).toBe(true);
    expect(order.advance('w', 'a', 'n', 9)).toBe(false);
    // Per node: another node's messages about `a` have an order of their own.
    expect(order.advance('w', 'a', 'other', 1)).toBe(true);
    order.advance('w', 'b', 'n', 10);
    order.advance('w', 'c', 'n', 10);
    // `a` was dropped: an older message about it is taken again (refused whole only once past maxAgeMs).
    expect(order.advance('w', 'a', 'n', 9)).toBe(true);
  });
});

/**
 * Joins, leaves and rosters of another node applied in the order they were sent (their `at`), not the
 * order gossip delivers them in: a leave overtaken by the rejoin after it, a join sent again after its
 * person left, a roster made before a join, or a message from long ago change nobody. Messages of nodes
 * that send no `at` (earlier versions) are taken as they come. A node and a test peer (loopback) that
 * publishes people messages as the other node would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeopleOrder } from '../../node/federation/people-order.ts';
import type { PeopleMessage, RemotePerson } from '../../protocol/gossip/index.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { meshWith, publishPeople, roomOf, visitor } from '../support/people.ts';
import { startTestPeer, type TestPeer } from '../support/test-peer.ts';

let node: TestNode;
let peer: TestPeer;

beforeAll(async () => {
  peer = await startTestPeer('order');
  node = await startNode({ trust: peer.peerId, peerSilenceTimeoutMs: 120_000 });
  await meshWith(peer, node);
}, 60_000);

afterAll(async () => {
  await peer?.stop();
  await node?.cleanup();
});

const reasons = () => node.node.federation.peers.stats(peer.peerId).reasons;
const shown = (p: RemotePerson) => roomOf(node)?.member(p.id) !== undefined;
const person = visitor;
const people = (m: PeopleMessage) => publishPeople(peer, node, m);

describe('people messages in the order their node sent them', () => {
  it('ignores a leave overtaken by the rejoin after it, and a join sent again after its person left', async () => {
    const ann = person();
    const t = Date.now() * 1000;
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
    const t = Date.now() * 1000;
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

  it('ignores a message from long ago and refuses one from the future, whole', async () => {
    const ghost = person();
    const rejectedBefore = node.node.federation.peers.stats(peer.peerId).rejected;
    const skewBefore = reasons().clock_skew ?? 0;
    // Not news, and not the signer's fault: anyone may send a signed message again later.
    await people({ t: 'join', person: ghost, at: (Date.now() - 60 * 60_000) * 1000 });
    expect(shown(ghost)).toBe(false);
    expect(node.node.federation.peers.stats(peer.peerId).rejected).toBe(rejectedBefore);
    await people({ t: 'roster', people: [ghost], complete: false, at: (Date.now() + 60 * 60_000) * 1000 });
    expect(shown(ghost)).toBe(false);
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
  const options = { maxAgeMs: 1000, maxClockSkewMs: 1000, maxNodes: 2, maxPerNode: 2 };

  it('stamps its own messages strictly increasing, also within one µs and after the clock stepped back', () => {
    const order = new PeopleOrder(options);
    expect([order.stamp(5000), order.stamp(5000), order.stamp(4000), order.stamp(6000)]).toEqual([
      5000, 5001, 5002, 6000,
    ]);
  });

  it('takes a message as news once the last one applied is older than maxAgeMs (a sender whose clock stepped back)', () => {
    const order = new PeopleOrder(options);
    const t = 1_000_000_000;
    expect(order.advance('w', 'a', 'n', t, t)).toBe(true);
    expect(order.isLater('w', 'a', 'n', t - 500_000, t)).toBe(false);
    expect(order.isLater('w', 'a', 'n', t - 500_000, t + 1_000_001)).toBe(true);
  });

  it('keeps a bounded order per node and for a bounded number of nodes', () => {
    const order = new PeopleOrder(options);
    const t = 1_000_000_000;
    expect(order.advance('w', 'a', 'n', t, t)).toBe(true);
    expect(order.advance('w', 'a', 'n', t - 1, t)).toBe(false);
    // Another node's messages about `a` have an order of their own.
    expect(order.advance('w', 'a', 'other', t - 10, t)).toBe(true);
    // Node `n` speaks of more people than it is kept for: its stalest entry (`a`) goes, not other nodes'.
    order.advance('w', 'b', 'n', t, t);
    order.advance('w', 'c', 'n', t, t);
    expect(order.isLater('w', 'a', 'n', t - 1, t)).toBe(true);
    expect(order.isLater('w', 'a', 'other', t - 11, t)).toBe(false);
    // A third node: the least recently heard node (`other`) loses its order, `n` keeps its own.
    order.advance('w', 'a', 'third', t, t);
    expect(order.isLater('w', 'a', 'other', t - 11, t)).toBe(true);
    expect(order.isLater('w', 'c', 'n', t - 1, t)).toBe(false);
  });
});

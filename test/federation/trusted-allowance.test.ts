/**
 * A trusted node publishing faster than its allowance (`--peer-gossip-per-second`, per topic): past a
 * burst, its messages on that topic are ignored and counted (`over_allowance`, not as rejections) while
 * its other topics are untouched; once the allowance refills it is taken at its word again. A node with a
 * small allowance and a test peer of its own (test-peer.ts, loopback).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_TOPICS_FACTOR,
  BURST_SECONDS,
  TrustedAllowance,
} from '../../node/federation/trusted-allowance.ts';
import { chainTopic, encodePeople, peopleTopic, positionsTopic } from '../../protocol/gossip/index.ts';
import { encode } from '../../protocol/posbus/index.ts';
import { waitFor } from '../support/federation.ts';
import { startNode, type TestNode } from '../support/node.ts';
import { meshWith, roomOf, visitor, PEOPLE_WORLD as WORLD } from '../support/people.ts';
import { startTestPeer, type TestPeer } from '../support/test-peer.ts';

const PER_SECOND = 20;
let node: TestNode;
let peer: TestPeer;

beforeAll(async () => {
  peer = await startTestPeer('busy');
  node = await startNode({
    trust: peer.peerId,
    peerGossipPerSecond: PER_SECOND,
    peerSilenceTimeoutMs: 120_000,
  });
  await meshWith(peer, node, [peopleTopic(WORLD), positionsTopic(WORLD)]);
}, 60_000);

afterAll(async () => {
  await peer?.stop();
  await node?.cleanup();
});

const traffic = (kind: string) => node.node.federation.traffic()[kind]?.received ?? 0;
const overAllowance = () => node.node.federation.peers.stats(peer.peerId).ignoredReasons.over_allowance ?? 0;
const room = () => roomOf(node);
const person = visitor;

describe('a trusted node over its gossip allowance', () => {
  it('has the rest of a flood ignored on that topic only, and is heard again once the allowance refills', async () => {
    const flood = PER_SECOND * BURST_SECONDS * 2;
    const before = traffic('people');
    const shownBefore = room()?.size ?? 0;
    const started = performance.now();
    // Joins of people nobody shows yet: each is shown if taken, so what the allowance let through is in
    // the room and the rest is counted, whatever the machine's pace (the allowance refills meanwhile).
    const crowd = Array.from({ length: flood }, () => person());
    for (const p of crowd) await peer.publish(peopleTopic(WORLD), encodePeople({ t: 'join', person: p }));
    await waitFor(() => traffic('people') >= before + flood, 30_000, 'the node to judge the flood');
    const seconds = (performance.now() - started) / 1000;
    const taken = (room()?.size ?? 0) - shownBefore;
    expect(taken + overAllowance()).toBe(flood);
    // At most the burst and what refilled meanwhile was taken.
    expect(taken).toBeLessThanOrEqual(PER_SECOND * (BURST_SECONDS + seconds + 1));
    expect(overAllowance()).toBeGreaterThan(0);
    // Not a rejection: nothing is wrong with the messages.
    expect(node.node.federation.peers.stats(peer.peerId).rejected).toBe(0);

    // Its positions topic has an allowance of its own: a position is taken while people are over theirs.
    const counted = overAllowance();
    const positionsBefore = traffic('positions');
    await peer.publish(positionsTopic(WORLD), encode({ type: 'UsersTransformList', value: [] }));
    await waitFor(() => traffic('positions') > positionsBefore, 30_000, 'the node to judge a position');
    expect(overAllowance()).toBe(counted);

    // Refilled: a join is taken.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const visitor = person();
    const joinBefore = traffic('people');
    await peer.publish(peopleTopic(WORLD), encodePeople({ t: 'join', person: visitor }));
    await waitFor(() => traffic('people') > joinBefore, 30_000, 'the node to judge a join');
    expect(room()?.member(visitor.id)).toBeDefined();
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  }, 120_000);
});

describe('TrustedAllowance', () => {
  it('limits per topic and per node over all topics, never chain topics, and nothing at 0', () => {
    const allowance = new TrustedAllowance(1);
    const taken = (topic: string, n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) if (allowance.take('n', topic, 0)) ok++;
      return ok;
    };
    // One topic: its burst. Over all topics: ALL_TOPICS_FACTOR bursts, however many topics.
    expect(taken('/a', 100)).toBe(BURST_SECONDS);
    const topics = Array.from({ length: 2 * ALL_TOPICS_FACTOR }, (_, i) => `/t${i}`);
    const total = topics.reduce((sum, t) => sum + taken(t, 100), 0);
    expect(total).toBe(BURST_SECONDS * (ALL_TOPICS_FACTOR - 1));
    expect(taken(chainTopic('evm-1'), 1000)).toBe(1000);
    const unlimited = new TrustedAllowance(0);
    let ok = 0;
    for (let i = 0; i < 100_000; i++) if (unlimited.take('n', '/a', 0)) ok++;
    expect(ok).toBe(100_000);
  });
});

/**
 * What the people tests share: a test peer meshed with a node on a world's people topics, people of that
 * peer's "node", and publishing a people message as that node would, waiting until the node judged it.
 */

import type { Room } from '../../node/world/room.ts';
import { DEFAULT_WORLD_ID } from '../../node/world/seed.ts';
import {
  encodePeople,
  type PeopleMessage,
  peopleTopic,
  type RemotePerson,
} from '../../protocol/gossip/index.ts';
import { waitFor } from './federation.ts';
import type { TestNode } from './node.ts';
import { dialableNode, type TestPeer } from './test-peer.ts';

/** The seeded world: every node holds it, so it hears the world's people. */
export const PEOPLE_WORLD = DEFAULT_WORLD_ID;

/** Dials the node and waits until both are meshed on each topic (by default the world's people topic). */
export async function meshWith(
  peer: TestPeer,
  node: TestNode,
  topics: string[] = [peopleTopic(PEOPLE_WORLD)],
): Promise<void> {
  const self = dialableNode(node);
  await peer.dial([self]);
  for (const topic of topics) await peer.subscribe(topic, [self]);
}

/** A person of another node, not shown here before. */
export function visitor(): RemotePerson {
  return {
    id: crypto.randomUUID(),
    name: 'visitor',
    isGuest: true,
    pose: { position: { x: 1, y: 0, z: 1 }, rotation: { x: 0, y: 0, z: 0 } },
  };
}

export const visitors = (n: number): RemotePerson[] => Array.from({ length: n }, () => visitor());

/** People messages the node has received (counted before they are judged). */
export const peopleReceived = (node: TestNode): number =>
  node.node.federation.traffic().people?.received ?? 0;

/** The node's room of the world, while someone is in it. */
export function roomOf(node: TestNode, worldId = PEOPLE_WORLD): Room | undefined {
  return [...node.node.worlds.roomsInUse()].find((r) => r.worldId === worldId);
}

/** Publishes `m` from `peer` and waits until the node has judged it (the validator counts before it runs the handler). */
export async function publishPeople(peer: TestPeer, node: TestNode, m: PeopleMessage): Promise<void> {
  const before = peopleReceived(node);
  await peer.publish(peopleTopic(PEOPLE_WORLD), encodePeople(m));
  await waitFor(() => peopleReceived(node) > before, 30_000, 'the node to judge a people message');
}

/**
 * The test's own federation peer: a real libp2p host (createP2pHost, loopback, port 0) in a temp dir,
 * which the node processes under test trust like any operator's peer. It subscribes to chain topics,
 * re-publishes (echoes) another node's publications under its own signature, publishes what a test
 * forges, answers chain pulls as the test tells it, and pulls chains and worlds from a node over the real
 * protocols.
 * Nothing in it is a fake: it is the peer a hostile or second honest operator would run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GossipSub } from '@libp2p/gossipsub';
import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { createP2pHost, type P2pHost } from '../../node/federation/p2p-host.ts';
import {
  type AnnouncedWorld,
  CHAIN_PULL_PROTOCOL,
  type ChainPullFrame,
  type ChainPullRequest,
  DIRECTORY_TOPIC,
  decodeChainPullFrame,
  decodeChainPullRequest,
  decodeSyncFrame,
  decodeSyncRequest,
  encodeAnnouncement,
  encodeChainPullFrame,
  encodeChainPullRequest,
  encodeSyncFrame,
  encodeSyncRequest,
  SYNC_WINDOW,
  type SyncFrame,
  WORLD_SYNC_PROTOCOL,
} from '../../protocol/gossip/index.ts';
import { waitFor } from './federation.ts';
import type { TestNode } from './node.ts';

/** The nodes' gossip limit (composition/main.ts): a frame above it (plus overhead) is refused unread. */
export const NODE_MAX_MESSAGE_BYTES = 1024 * 1024;

/** Something the test peer can dial: a node process, or anything else with a peer id and an address. */
export interface Dialable {
  peerId: string;
  /** The TCP multiaddr, with `/p2p/<peer id>`. */
  address: string;
}

/** What the peer sends back for one pull: frames, or raw bytes as one length-prefixed frame (garbage). */
export type PullReply = ChainPullFrame | Uint8Array;

export interface TestPeer extends Dialable {
  host: P2pHost;
  pubsub: GossipSub;
  /** Connects to each node. */
  dial(nodes: Dialable[]): Promise<void>;
  /** Drops the connection to a node and dials it again (a new connection: the node catches up again). */
  redial(node: Dialable): Promise<void>;
  /** Subscribes and waits until every node is subscribed to the topic too (meshes form on heartbeats). */
  subscribe(topic: string, nodes: Dialable[]): Promise<void>;
  /**
   * From now on re-publishes, signed by this peer, every message `from` publishes on `topic`;
   * `rewrite` may replace the bytes (a forgery) before they go out.
   */
  echo(topic: string, from: string, rewrite?: (data: Uint8Array) => Uint8Array): void;
  /** The data of the next message `from` publishes on `topic` (after `trigger`, which makes it happen). */
  nextFrom(topic: string, from: string, trigger: () => unknown): Promise<Uint8Array>;
  publish(topic: string, data: Uint8Array): Promise<void>;
  /** Answers every chain pull with what `reply` gives for the request; `asked` records the requests. */
  answerPulls(reply: (request: ChainPullRequest) => Promise<PullReply[]>): Promise<void>;
  readonly asked: ChainPullRequest[];
  /**
   * Answers every world sync request with the frames `reply` gives for its world (a refusal when it
   * gives none); `syncsAsked` records the worlds asked for.
   */
  answerSyncs(reply: (worldId: string) => SyncFrame[] | undefined): Promise<void>;
  readonly syncsAsked: string[];
  /** One chain pull of a node over the real protocol: every frame of its answer, the last one included. */
  pull(node: Dialable, request: ChainPullRequest): Promise<ChainPullFrame[]>;
  /**
   * One world sync of a whole world from a node over the real protocol (as a late joiner asks, asking for
   * each next window): every frame of its answer, the last one (end or refused) included.
   */
  pullWorld(node: Dialable, worldId: string): Promise<SyncFrame[]>;
  /** Announces itself as the holder of `worlds` on the directory topic every `everyMs`, until `stop`. */
  announceEvery(worlds: AnnouncedWorld[], everyMs: number): void;
  /** Stops the host and removes its directory. */
  stop(): Promise<void>;
}

export async function startTestPeer(name = 'test-peer'): Promise<TestPeer> {
  const dir = await mkdtemp(join(tmpdir(), `odyssey-${name}-`));
  let host: P2pHost;
  try {
    host = await createP2pHost({
      keyFile: join(dir, 'peer-key'),
      name,
      version: '0',
      network: { host: '127.0.0.1', tcpPort: 0, wsPort: 0, maxMessageBytes: NODE_MAX_MESSAGE_BYTES },
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const pubsub = host.services.pubsub;
  if (!pubsub) throw new Error('the test peer has no gossipsub');
  const asked: ChainPullRequest[] = [];
  const syncsAsked: string[] = [];
  const announcers: NodeJS.Timeout[] = [];
  const fromPeer = (topic: string, from: string, m: { topic: string; type: string; from?: unknown }) =>
    m.topic === topic && m.type === 'signed' && String(m.from) === from;

  const tcp = host.getMultiaddrs().find((a) => !a.toString().includes('/ws'));
  return {
    host,
    peerId: host.peerId.toString(),
    address: String(tcp),
    pubsub,
    asked,
    syncsAsked,
    dial: async (nodes) => {
      for (const n of nodes) await host.dial(multiaddr(n.address));
    },
    redial: async (node) => {
      await host.hangUp(peerIdFromString(node.peerId));
      await host.dial(multiaddr(node.address));
    },
    subscribe: async (topic, nodes) => {
      pubsub.subscribe(topic);
      await waitFor(
        () => {
          const subscribers = new Set(pubsub.getSubscribers(topic).map(String));
          return nodes.every((n) => subscribers.has(n.peerId));
        },
        20_000,
        `every node on ${topic}`,
      );
    },
    echo: (topic, from, rewrite = (data) => data) => {
      if (!pubsub.getTopics().includes(topic)) pubsub.subscribe(topic);
      pubsub.addEventListener('message', (event) => {
        const m = event.detail;
        if (!fromPeer(topic, from, m)) return;
        pubsub.publish(topic, rewrite(m.data)).catch(() => {});
      });
    },
    nextFrom: (topic, from, trigger) =>
      new Promise((resolve) => {
        const listen = (event: CustomEvent) => {
          const m = event.detail;
          if (!fromPeer(topic, from, m)) return;
          pubsub.removeEventListener('message', listen as never);
          resolve(m.data);
        };
        pubsub.addEventListener('message', listen as never);
        void trigger();
      }),
    publish: async (topic, data) => {
      await pubsub.publish(topic, data);
    },
    answerPulls: (reply) => host.handle(CHAIN_PULL_PROTOCOL, (stream) => answer(stream, reply, asked)),
    answerSyncs: (reply) =>
      host.handle(WORLD_SYNC_PROTOCOL, (stream) => answerSync(stream, reply, syncsAsked)),
    pull: async (node, request) => {
      const stream = await host.dialProtocol(peerIdFromString(node.peerId), CHAIN_PULL_PROTOCOL);
      const lp = lpStream(stream, { maxDataLength: 2 * NODE_MAX_MESSAGE_BYTES });
      try {
        await lp.write(encodeChainPullRequest(request));
        const frames: ChainPullFrame[] = [];
        for (;;) {
          const frame = decodeChainPullFrame((await lp.read()).subarray(), 2 * NODE_MAX_MESSAGE_BYTES);
          frames.push(frame);
          if (frame.t !== 'block') break;
        }
        await stream.close();
        return frames;
      } catch (error) {
        stream.abort(error as Error);
        throw error;
      }
    },
    pullWorld: async (node, worldId) => {
      const stream = await host.dialProtocol(peerIdFromString(node.peerId), WORLD_SYNC_PROTOCOL);
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_FRAME });
      try {
        await lp.write(encodeSyncRequest({ worldId, digests: [] }));
        const frames: SyncFrame[] = [];
        for (let objects = 0; ; ) {
          const frame = decodeSyncFrame((await lp.read()).subarray(), MAX_SYNC_FRAME);
          frames.push(frame);
          if (frame.t !== 'ops') break;
          if (++objects % SYNC_WINDOW === 0) await lp.write(encodeSyncFrame({ t: 'more' }));
        }
        await stream.close();
        return frames;
      } catch (error) {
        stream.abort(error as Error);
        throw error;
      }
    },
    announceEvery: (worlds, everyMs) => {
      const announce = () =>
        pubsub
          .publish(
            DIRECTORY_TOPIC,
            encodeAnnouncement({ name, url: '', version: '0', worlds, at: Date.now() }),
          )
          .catch(() => {});
      announcers.push(setInterval(announce, everyMs));
    },
    stop: async () => {
      for (const timer of announcers.splice(0)) clearInterval(timer);
      await host.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const MAX_SYNC_FRAME = 16 * 1024 * 1024;

async function answerSync(
  stream: Stream,
  reply: (worldId: string) => SyncFrame[] | undefined,
  asked: string[],
): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_SYNC_FRAME });
  try {
    const { worldId } = decodeSyncRequest((await lp.read()).subarray(), MAX_SYNC_FRAME);
    asked.push(worldId);
    for (const frame of reply(worldId) ?? [{ t: 'refused' as const, reason: 'busy' }])
      await lp.write(encodeSyncFrame(frame));
    await stream.close();
  } catch (error) {
    stream.abort(error as Error);
  }
}

/**
 * Has `peer` announce itself as the holder of `worlds` every `everyMs` (until it stops) and waits until the
 * node lists it as a holder of each.
 */
export async function announceTo(
  peer: TestPeer,
  node: TestNode,
  worlds: AnnouncedWorld[],
  everyMs = 200,
): Promise<void> {
  peer.announceEvery(worlds, everyMs);
  const directory = node.node.federation.directory;
  await waitFor(
    () => worlds.every((w) => directory.holders(w.id).includes(peer.peerId)),
    15_000,
    `the node to hear of ${peer.peerId}`,
  );
}

/** A node started in this process (support/node.ts), as the test peer dials it. */
export function dialableNode(node: TestNode): Dialable {
  const federation = node.node.federation;
  return {
    peerId: federation.peerId,
    address: federation.listenAddresses().find((a) => !a.includes('/ws')) as string,
  };
}

async function answer(
  stream: Stream,
  reply: (request: ChainPullRequest) => Promise<PullReply[]>,
  asked: ChainPullRequest[],
): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: 4096 });
  try {
    const request = decodeChainPullRequest((await lp.read()).subarray());
    asked.push(request);
    for (const item of await reply(request))
      await lp.write(item instanceof Uint8Array ? item : encodeChainPullFrame(item));
    await stream.close();
  } catch (error) {
    stream.abort(error as Error);
  }
}

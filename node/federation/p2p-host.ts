/**
 * The node's libp2p host, made once by the composition root and shared: object storage (Helia, bitswap)
 * and federation (gossipsub, world sync) attach to it. Network hygiene first: no bootstrap list, no peer
 * discovery, no DHT, no delegated routing, no UPnP and no autoNAT; the only peers a node dials are the
 * ones its operator lists (see federation/dialer.ts). Without `network` (e.g. `odyssey-node gc`) the host
 * has no transports at all and listens on nothing.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { type GossipSub, gossipsub, StrictSign } from '@libp2p/gossipsub';
import type { Identify } from '@libp2p/identify';
import { identify } from '@libp2p/identify';
import type { Libp2p, PrivateKey } from '@libp2p/interface';
import { noise } from '@libp2p/noise';
import { type Ping, ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { createLibp2p } from 'libp2p';

/** The node identity: an Ed25519 key, protobuf-encoded as libp2p writes it, mode 0600. */
export async function loadOrCreatePeerKey(file: string): Promise<PrivateKey> {
  try {
    return privateKeyFromProtobuf(await readFile(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = await generateKeyPair('Ed25519');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return key;
}

export interface P2pNetworkOptions {
  /** Listen address (IPv4 or IPv6 literal). */
  host: string;
  /** TCP port; 0 = any free port. */
  tcpPort: number;
  /** WebSocket port; 0 = any free port. */
  wsPort: number;
  /** Largest gossip message accepted, in bytes. */
  maxMessageBytes: number;
}

export interface P2pHostOptions {
  /** Where the node key lives (created on first start). */
  keyFile: string;
  name: string;
  version: string;
  /** Transports and gossip; absent = a host that talks to no one. */
  network?: P2pNetworkOptions;
}

export type P2pServices = { identify: Identify; ping?: Ping; pubsub?: GossipSub };
export type P2pHost = Libp2p<P2pServices>;

/** Gossipsub's application-specific score of a peer (the score below its graylist threshold: ignored). */
export type GossipAppScore = (peerId: string) => number;
/** Per gossipsub service: the score its parameters ask for, set once federation runs on the host. */
const appScores = new WeakMap<GossipSub, { score: GossipAppScore }>();

/** Federation's say in gossipsub's peer scores (gossip.ts); undefined: back to 0 for every peer. */
export function setGossipAppScore(pubsub: GossipSub, score: GossipAppScore | undefined): void {
  const holder = appScores.get(pubsub);
  if (holder) holder.score = score ?? (() => 0);
}

/** `/ip4/127.0.0.1/tcp/4001` or `/ip6/::1/tcp/4001`, with `/ws` for WebSockets. */
export function listenAddress(host: string, port: number, ws = false): string {
  return `/${host.includes(':') ? 'ip6' : 'ip4'}/${host}/tcp/${port}${ws ? '/ws' : ''}`;
}

/** A started host. Stopped by the composition root after every user of it (Helia, federation). */
export async function createP2pHost(options: P2pHostOptions): Promise<P2pHost> {
  const privateKey = await loadOrCreatePeerKey(options.keyFile);
  const net = options.network;
  // The host is made before federation: gossipsub's score parameters call through this holder.
  const appScore: { score: GossipAppScore } = { score: () => 0 };
  const host = net
    ? await createLibp2p<P2pServices>({
        privateKey,
        addresses: {
          listen: [listenAddress(net.host, net.tcpPort), listenAddress(net.host, net.wsPort, true)],
        },
        transports: [tcp(), webSockets()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        peerDiscovery: [],
        nodeInfo: { name: options.name, version: options.version },
        services: {
          identify: identify(),
          ping: ping(),
          pubsub: gossipsub({
            // Every message names and is signed by the node that made it: trust is decided per origin.
            globalSignaturePolicy: StrictSign,
            allowPublishToZeroTopicPeers: true,
            ignoreDuplicatePublishError: true,
            emitSelf: false,
            maxInboundDataLength: net.maxMessageBytes,
            // Three topics per world held: the default budget (~1,000 topics per peer) would silently cut
            // a federation off past ~330 shared worlds; this one allows ~16,000 topics (~5,000 worlds).
            maxTopicBytesPerPeer: 16 * 1024 * 1024,
            scoreParams: { appSpecificScore: (peerId) => appScore.score(peerId) },
          }),
        },
        start: false,
      })
    : await createLibp2p<P2pServices>({
        privateKey,
        addresses: { listen: [] },
        transports: [],
        peerDiscovery: [],
        nodeInfo: { name: options.name, version: options.version },
        services: { identify: identify() },
        start: false,
      });
  if (host.services.pubsub) appScores.set(host.services.pubsub, appScore);
  await host.start();
  return host;
}

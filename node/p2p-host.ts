/**
 * The node's libp2p host. The node owns it (it outlives any one user of it): object storage (Helia, bitswap)
 * attaches to it now, federation will add its transports and gossip later. Network hygiene first: this
 * host has no transports, listens on nothing, has no bootstrap list, no peer discovery, no DHT, no
 * delegated routing, no UPnP and no autoNAT, so a node with defaults never dials anyone. An operator who
 * wants a network configures one (federation issue).
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import type { Libp2p, PrivateKey } from '@libp2p/interface';
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

export interface P2pHostOptions {
  /** Where the node key lives (created on first start). */
  keyFile: string;
  name: string;
  version: string;
}

/**
 * A started host with identify only (bitswap needs it to learn which protocols a peer speaks). Created
 * with `start: false` and started here so that the caller decides when; stopped by the node after every
 * user of it (Helia first).
 */
export async function createP2pHost(options: P2pHostOptions): Promise<Libp2p> {
  const host = await createLibp2p({
    privateKey: await loadOrCreatePeerKey(options.keyFile),
    addresses: { listen: [] },
    transports: [],
    peerDiscovery: [],
    nodeInfo: { name: options.name, version: options.version },
    services: { identify: identify() },
    start: false,
  });
  await host.start();
  return host;
}

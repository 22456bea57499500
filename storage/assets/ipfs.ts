/**
 * Helia 7 with blocks as files (`<dir>/block-files`, file-blockstore.ts) and its datastore (pins) in
 * LevelDB (`<dir>/datastore`), attached to a libp2p host that the node owns.
 *
 * Why not `createHelia()`: its defaults build their own libp2p (public bootstrap list, DHT, mDNS, UPnP,
 * autoNAT, relays) and add HTTP gateway routing and delegated routing to public servers. Here Helia is
 * the light core with no routers and bitswap as the only block broker, so blocks move only over
 * connections the host already has; with the default host (no transports) that is none. Helia neither
 * starts nor stops the host: the node does, since federation shares it. With `allowPeer`, bitswap sees
 * the host through a view that hides every other peer (peer-gate.ts): it serves and asks only those.
 */
import { withBitswap } from '@helia/bitswap';
import { type UnixFS, unixfs } from '@helia/unixfs';
import type { Libp2p } from '@libp2p/interface';
import { LevelDatastore } from 'datastore-level';
import type { Helia } from 'helia';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import type { CID } from 'multiformats/cid';
import { migrateLevelBlocks } from './block-migration.ts';
import { FileBlockstore } from './file-blockstore.ts';
import { createHeliaCore } from './helia-core.ts';
import { type PeerFilter, trustedView } from './peer-gate.ts';

/**
 * How files become DAGs. These are Kubo's classic defaults for `ipfs add --cid-version 1` (raw leaves,
 * 256 KiB fixed-size chunks, balanced layout with 174 links per node), so
 * `ipfs add --cid-version 1 --raw-leaves --chunker size-262144` prints the same CID for the same bytes.
 * Changing any of them changes every new CID: never change them for existing data.
 */
export const CHUNK_SIZE = 262_144;
export const MAX_CHILDREN = 174;
export const IMPORT_OPTIONS = {
  cidVersion: 1 as const,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: CHUNK_SIZE }),
  layout: balanced({ maxChildrenPerNode: MAX_CHILDREN }),
};

export type HeliaNode = Helia & { libp2p: Libp2p };

export class Ipfs {
  readonly helia: HeliaNode;
  /** The raw blockstore under Helia's: local reads that must never touch the network. */
  readonly blocks: FileBlockstore;
  readonly datastore: LevelDatastore;
  readonly fs: UnixFS;
  /** Blocks moved from the LevelDB blockstore of earlier versions when this store opened (0: none). */
  readonly migratedBlocks: number;

  private constructor(helia: HeliaNode, blocks: FileBlockstore, datastore: LevelDatastore, migrated: number) {
    this.helia = helia;
    this.blocks = blocks;
    this.datastore = datastore;
    this.fs = unixfs(helia);
    this.migratedBlocks = migrated;
  }

  static async open(dir: string, libp2p: Libp2p, allowPeer?: PeerFilter): Promise<Ipfs> {
    const blocks = new FileBlockstore(`${dir}/block-files`);
    await blocks.open();
    const datastore = new LevelDatastore(`${dir}/datastore`);
    try {
      // Before Helia sees the store: every block an earlier version kept in LevelDB is here when it starts.
      const migrated = await migrateLevelBlocks(`${dir}/blocks`, blocks);
      await datastore.open();
      const helia = createHeliaCore({ blockstore: blocks, datastore, routers: [], blockBrokers: [] });
      // Attach the node's host; bitswap (added next) reads `helia.libp2p` when Helia starts.
      const host = allowPeer ? trustedView(libp2p, allowPeer) : libp2p;
      Object.defineProperty(helia, 'libp2p', { value: host, enumerable: true });
      const node = withBitswap(helia as HeliaNode);
      await node.start();
      return new Ipfs(node, blocks, datastore, migrated);
    } catch (e) {
      // A failed start is a clean stop for the blocks (nothing in flight): no sweep at the next start.
      await blocks.close();
      await datastore.close().catch(() => {});
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.helia.stop();
    await this.blocks.close();
    await this.datastore.close();
  }

  /** A local block, or undefined. Never asks the network. */
  async block(cid: CID): Promise<Uint8Array | undefined> {
    return this.blocks.read(cid).catch((error: Error) => {
      if (error.name === 'NotFoundError') return undefined;
      throw error;
    });
  }

  /**
   * A block from the local store or, failing that, from connected (trusted) peers over bitswap: checked
   * against the CID's hash on arrival and then stored (unpinned until someone pins it). Aborted by
   * `signal`, which is what bounds the wait: bitswap itself waits for as long as it is asked to.
   */
  async fetchBlock(cid: CID, signal: AbortSignal): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const part of this.helia.blockstore.get(cid, { signal })) parts.push(part);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Number of blocks stored (a full scan: tests and the GC report). */
  async countBlocks(): Promise<number> {
    let n = 0;
    for await (const _ of this.blocks.cids()) n++;
    return n;
  }
}

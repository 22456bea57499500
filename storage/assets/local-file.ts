/**
 * A file's bytes (or a range of them) read straight from the block files, for a DAG whose blocks are all
 * here. The UnixFS exporter went through Helia's blockstore for every leaf (a lock, a `stat`, the block
 * read whole and copied once more into one buffer) and so ran at a few per cent of a plain file read.
 * Here the few dag-pb nodes above the leaves are decoded to learn which leaf holds which bytes, and each
 * leaf needed is read with one open/read/close, only the bytes the range wants.
 *
 * Local blocks were hash-checked when they were written (an upload hashes every leaf it writes; a fetch
 * from peers checks each block on arrival), so they are not hashed again here. Bytes from peers never
 * come this way (asset-fetcher.ts reads those through bitswap, which checks them).
 *
 * UnixFS file semantics as the exporter applies them: a node's content is its own `Data` bytes followed by
 * its children's, the i-th child holding `blocksizes[i]` bytes; a raw leaf is all content. A DAG that is
 * not a UnixFS file fails the read (the caller has checked the size against the record).
 */
import * as dagPb from '@ipld/dag-pb';
import type { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { identity } from 'multiformats/hashes/identity';
import type { FileBlockstore } from './file-blockstore.ts';

/** The parts of a UnixFS `Data` message a file read needs. */
interface FileNode {
  data?: Uint8Array;
  blockSizes: number[];
}

interface Entry {
  cid: CID;
  start: number;
  size: number;
}

const UNIXFS_RAW = 0;
const UNIXFS_FILE = 2;

/**
 * Where the bytes of [offset, offset + length) of a file are, in file order: inline bytes (a dag-pb
 * node's own `Data`, an identity block) or [from, to) of a raw leaf's block file, which the caller reads
 * as it likes (into a buffer of its own, or into a pooled one: `read-pool.ts`). `to` comes from the
 * parent's blocksizes, so a leaf may hold fewer bytes than that: readers stop at its end.
 */
export type FilePiece = { bytes: Uint8Array } | { leaf: CID; from: number; to: number };

/** Yields [offset, offset + length) of the file at `root`, each leaf's part as one buffer. */
export async function* readLocalFile(
  blocks: FileBlockstore,
  root: CID,
  offset: number,
  length: number,
): AsyncGenerator<Uint8Array> {
  for await (const piece of localFilePieces(blocks, root, offset, length)) {
    if ('bytes' in piece) yield piece.bytes;
    else yield await blocks.readRange(piece.leaf, piece.from, piece.to - piece.from);
  }
}

/** The pieces of [offset, offset + length) of the file at `root` (only the dag-pb nodes are read). */
export async function* localFilePieces(
  blocks: FileBlockstore,
  root: CID,
  offset: number,
  length: number,
): AsyncGenerator<FilePiece> {
  const wanted = offset + length;
  // Depth-first in link order; each entry is a node, the file offset where its content starts and its
  // content's size (from its parent's blocksizes; unknown for the root).
  const stack: Entry[] = [{ cid: root, start: 0, size: Number.POSITIVE_INFINITY }];
  while (stack.length) {
    const { cid, start, size } = stack.pop() as Entry;
    // Nothing past the extent the parent gave this node: a node whose own blocksizes add up to more than
    // its parent says (a hostile DAG that passed the exporter, which stops at the root's size) must not
    // make a read of the whole file (length Infinity, as renditions ask) walk and yield far more bytes.
    const end = Math.min(wanted, start + size);
    if (cid.multihash.code === identity.code) {
      // Inline bytes: the block is the digest (the identity "hash").
      if (cid.code !== raw.code) throw new Error(`cannot read ${cid}: not a raw identity block`);
      yield* part(cid.multihash.digest, start, offset, end);
      continue;
    }
    if (cid.code === raw.code) {
      const leafSize = Number.isFinite(size) ? size : await blocks.sizeOf(cid);
      const from = Math.max(offset, start) - start;
      const to = Math.min(end, start + leafSize) - start;
      if (to > from) yield { leaf: cid, from, to };
      continue;
    }
    if (cid.code !== dagPb.code) throw new Error(`cannot read ${cid}: not a UnixFS file`);
    const node = dagPb.decode(await blocks.read(cid));
    const file = parseFileData(node.Data, cid);
    let at = start;
    if (file.data?.length) {
      yield* part(file.data, at, offset, end);
      at += file.data.length;
    }
    if (file.blockSizes.length !== node.Links.length) {
      throw new Error(`cannot read ${cid}: ${node.Links.length} links but ${file.blockSizes.length} sizes`);
    }
    // Children that end before the range or start after it are skipped unread.
    const children: Entry[] = [];
    for (let i = 0; i < node.Links.length; i++) {
      const childSize = file.blockSizes[i];
      // A child of no bytes adds nothing: not even read (a DAG of empty links could be walked for ever).
      if (childSize > 0 && at < end && at + childSize > offset) {
        children.push({ cid: node.Links[i].Hash, start: at, size: childSize });
      }
      at += childSize;
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
}

/** The part of inline bytes that falls into the range. */
function* part(bytes: Uint8Array, start: number, offset: number, end: number): Generator<FilePiece> {
  const from = Math.max(offset, start) - start;
  const to = Math.min(end, start + bytes.length) - start;
  if (to > from) yield { bytes: bytes.subarray(from, to) };
}

/**
 * Reads the UnixFS `Data` protobuf of a file node: field 1 Type (varint), 2 Data (bytes), 4 blocksizes
 * (repeated varint, packed or not); the other fields (filesize, mode, mtime...) are skipped.
 */
export function parseFileData(bytes: Uint8Array | undefined, cid: CID): FileNode {
  if (!bytes) throw new Error(`cannot read ${cid}: a dag-pb node without UnixFS data`);
  const bad = (why: string) => new Error(`cannot read ${cid}: ${why} UnixFS data`);
  const node: FileNode = { blockSizes: [] };
  let type: number | undefined;
  const reader = new VarintReader(bytes, bad);
  while (!reader.done()) {
    const key = reader.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const value = reader.varint();
      if (field === 1) type = value;
      else if (field === 4) node.blockSizes.push(value);
    } else if (wire === 2) {
      const inner = reader.bytes(reader.varint());
      if (field === 2) node.data = inner;
      else if (field === 4) {
        const sizes = new VarintReader(inner, bad);
        while (!sizes.done()) node.blockSizes.push(sizes.varint());
      }
    } else if (wire === 5) reader.bytes(4);
    else if (wire === 1) reader.bytes(8);
    else throw bad('bad');
  }
  if (type !== UNIXFS_FILE && type !== UNIXFS_RAW) throw new Error(`cannot read ${cid}: not a UnixFS file`);
  return node;
}

/** Protobuf varints (up to 2^53) and length-delimited fields, bounds-checked. */
class VarintReader {
  private at = 0;
  private readonly buffer: Uint8Array;
  private readonly bad: (why: string) => Error;

  constructor(buffer: Uint8Array, bad: (why: string) => Error) {
    this.buffer = buffer;
    this.bad = bad;
  }

  done(): boolean {
    return this.at >= this.buffer.length;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.buffer.length) throw this.bad('truncated');
      const byte = this.buffer[this.at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
      if (scale > 2 ** 49) throw this.bad('an overlong varint in');
    }
  }

  bytes(length: number): Uint8Array {
    if (this.at + length > this.buffer.length) throw this.bad('truncated');
    const out = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }
}

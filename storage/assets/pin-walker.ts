/**
 * How a pin walks a DAG when the blocks are known to be here (a finished import, an unpin). Helia's
 * default walker reads every block to find its links, raw leaves included, so pinning a fresh 500 MB
 * upload read all 500 MB back from disk. A raw block has no links: this walker reads only the UnixFS
 * nodes above the leaves (one 256 KiB leaf in 174 needs none of its bytes) and names the leaves unread.
 *
 * Never for a fetch from peers: there, reading every block is what fetches it (asset-store.ts `pin`).
 */
import * as dagPb from '@ipld/dag-pb';
import type { GraphWalkerFactory } from 'helia';
import type { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';

export function localPinWalker(): GraphWalkerFactory {
  return (components) => ({
    async *walk(root: CID, options?: { signal?: AbortSignal; depth?: number }) {
      const maxDepth = options?.depth ?? Number.POSITIVE_INFINITY;
      const stack: { cid: CID; depth: number; path: CID[] }[] = [{ cid: root, depth: 0, path: [root] }];
      while (stack.length) {
        const next = stack.pop() as { cid: CID; depth: number; path: CID[] };
        options?.signal?.throwIfAborted();
        let links: CID[] = [];
        let bytes: Uint8Array = new Uint8Array(0);
        if (next.cid.code !== raw.code) {
          const parts: Uint8Array[] = [];
          for await (const part of components.blockstore.get(next.cid, options)) parts.push(part);
          bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts);
          if (next.cid.code !== dagPb.code) throw new Error(`cannot pin ${next.cid}: not UnixFS`);
          links = dagPb.decode(bytes).Links.map((link) => link.Hash);
        }
        // What pins use of a node is its CID; the bytes of a raw leaf are left unread on purpose.
        yield { block: { cid: next.cid, bytes }, depth: next.depth, path: next.path } as never;
        if (next.depth >= maxDepth) continue;
        // Depth-first, first link first (pushed in reverse).
        for (let i = links.length - 1; i >= 0; i--)
          stack.push({ cid: links[i], depth: next.depth + 1, path: [...next.path, links[i]] });
      }
    },
  });
}

/**
 * CARv1 export of a whole DAG, for the trustless gateway: blocks in depth-first order (each dag-pb
 * node before its children, links in order), every block once (`order=dfs; dups=n`). Streamed: one
 * block is in memory at a time, whatever the file size.
 */
import { CarWriter } from '@ipld/car/writer';
import * as dagPb from '@ipld/dag-pb';
import type { CID } from 'multiformats/cid';

export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car; version=1; order=dfs; dups=n';

/** Reads one local block; undefined when the store does not have it. */
export type BlockReader = (cid: CID) => Promise<Uint8Array | undefined>;

/**
 * Every block of the DAG under `root`, depth-first, each once; only the root with `rootOnly` (the
 * gateway's `dag-scope=block`). Throws at the first missing block.
 */
export async function* walkDag(
  root: CID,
  read: BlockReader,
  options: { signal?: AbortSignal; rootOnly?: boolean } = {},
): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  const seen = new Set<string>();
  // An explicit stack (reversed links) instead of recursion: deep DAGs cannot overflow it.
  const stack: CID[] = [root];
  while (stack.length) {
    options.signal?.throwIfAborted();
    const cid = stack.pop() as CID;
    const key = cid.toString();
    if (seen.has(key)) continue;
    seen.add(key);
    // Identity CIDs carry their bytes inline; the spec says not to send them as blocks.
    if (cid.multihash.code === 0x00) continue;
    const bytes = await read(cid);
    if (!bytes) throw new Error(`block ${key} is missing`);
    yield { cid, bytes };
    // Raw leaves have no links. Assets are UnixFS (dag-pb + raw); a block of another codec is sent alone.
    if (cid.code === dagPb.code && !options.rootOnly) {
      const links = dagPb.decode(bytes).Links;
      for (let i = links.length - 1; i >= 0; i--) stack.push(links[i].Hash);
    }
  }
}

/**
 * The CAR bytes of the DAG under `root`. A block missing half-way ends the stream with an error after
 * what was sent (the spec's "incomplete CAR"): the HTTP layer then aborts the response.
 */
export async function* carStream(root: CID, read: BlockReader, rootOnly = false): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create([root]);
  const abort = new AbortController();
  const producing = (async () => {
    try {
      for await (const block of walkDag(root, read, { signal: abort.signal, rootOnly }))
        await writer.put(block);
    } finally {
      await writer.close();
    }
  })();
  // Observed below; this only keeps an early failure from being reported as unhandled.
  producing.catch(() => {});
  const chunks = out[Symbol.asyncIterator]();
  let complete = false;
  try {
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    complete = true;
  } finally {
    if (!complete) {
      // The consumer went away (client disconnected): stop walking. The walker may be waiting for its
      // last block to be read (the CAR writer waits for its reader): read on, at most one more block, so
      // that it sees the abort and ends instead of waiting forever.
      abort.abort();
      while (!(await chunks.next()).done) {
        // discarded
      }
    }
  }
  await producing;
}

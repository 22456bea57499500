/** Asset test helpers: deterministic files of each format, multipart uploads, an independent CID. */
import { createHash } from 'node:crypto';
import { MemoryBlockstore } from 'blockstore-core/memory';
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import type { CID } from 'multiformats/cid';
import type { TestNode } from '../support/node.ts';

/** Pseudo-random bytes from a seed (SHA-256 in counter mode): the same seed, the same file. */
export function bytes(size: number, seed: string): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0, n = 0; i < size; n++) {
    const block = createHash('sha256').update(`${seed}:${n}`).digest();
    out.set(block.subarray(0, Math.min(32, size - i)), i);
    i += 32;
  }
  return out;
}

const withHead = (head: number[], size: number, seed: string) => {
  const out = bytes(size, seed);
  out.set(head, 0);
  return out;
};
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** A "GLB": the binary glTF magic and version, then noise (the store sniffs, it does not parse). */
export const glb = (size: number, seed = 'glb') => withHead([...ascii('glTF'), 2, 0, 0, 0], size, seed);
export const png = (size: number, seed = 'png') =>
  withHead([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], size, seed);
export const hdr = (size: number, seed = 'hdr') => withHead(ascii('#?RADIANCE\n'), size, seed);

export interface Uploaded {
  status: number;
  body: Record<string, unknown>;
}

/** A multipart upload as a browser sends it: fields first, then the file. */
export async function upload(
  node: TestNode,
  token: string | undefined,
  data: Uint8Array,
  opts: { path?: string; field?: string; fields?: Record<string, string>; filename?: string } = {},
): Promise<Uploaded> {
  const form = new FormData();
  for (const [k, v] of Object.entries(opts.fields ?? {})) form.append(k, v);
  form.append(
    opts.field ?? 'file',
    new Blob([data as Uint8Array<ArrayBuffer>]),
    opts.filename ?? 'upload.bin',
  );
  const res = await fetch(`${node.url}/api/v4${opts.path ?? '/assets'}`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: form,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** Bytes of a GET, with the response. */
export async function download(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { res, data: new Uint8Array(await res.arrayBuffer()) };
}

/** The CID the same settings give when computed apart from the node (ipfs-unixfs-importer, memory). */
export async function independentCid(data: Uint8Array): Promise<CID> {
  let root: CID | undefined;
  for await (const entry of importer([{ content: data }], new MemoryBlockstore(), {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: 262_144 }),
    layout: balanced({ maxChildrenPerNode: 174 }),
  })) {
    root = entry.cid;
  }
  if (!root) throw new Error('nothing imported');
  return root;
}

export const countBlocks = (node: TestNode) => node.node.assets.store.ipfs.countBlocks();

export const sha256 = (data: Uint8Array) => new Uint8Array(createHash('sha256').update(data).digest());

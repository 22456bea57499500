/**
 * Phase 5 of `npm run bench:federation`: the time to an asset's first byte on a node that does not hold
 * it (C, fetching it from A over bitswap as it answers), against the same download from A, which holds
 * it (a local read). Each try uploads fresh bytes to A, so C never has a block of them beforehand.
 */
import { createCipheriv } from 'node:crypto';
import type { NodeProcess } from '../test/support/federation.ts';
import { API } from './bench-federation-support.ts';

/** Incompressible bytes, different per seed, that sniff as a GLB model. */
function modelBytes(size: number, seed: number): Uint8Array {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16, 0));
  const out = cipher.update(Buffer.alloc(size));
  out.write('glTF', 0, 'latin1');
  return out;
}

/** Milliseconds to the first body byte and to the last, and the bytes received. */
async function timedDownload(url: string): Promise<{ firstMs: number; totalMs: number; bytes: number }> {
  const start = performance.now();
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`download ${url}: ${res.status}`);
  let firstMs = Number.NaN;
  let bytes = 0;
  for await (const chunk of res.body) {
    if (!bytes) firstMs = performance.now() - start;
    bytes += chunk.length;
  }
  return { firstMs, totalMs: performance.now() - start, bytes };
}

export interface AssetFirstByte {
  sizeMb: number;
  tries: number;
  remote: { firstMs: number; totalMs: number }[];
  local: { firstMs: number; totalMs: number }[];
}

export async function assetFirstByte(
  A: NodeProcess,
  C: NodeProcess,
  token: string,
  sizeMb: number,
  tries: number,
): Promise<AssetFirstByte> {
  const result: AssetFirstByte = { sizeMb, tries, remote: [], local: [] };
  for (let i = 0; i < tries; i++) {
    const data = modelBytes(sizeMb * 1_000_000, 100 + sizeMb + i);
    const form = new FormData();
    form.append('file', new Blob([data as Uint8Array<ArrayBuffer>]), 'bench.glb');
    const up = await fetch(`${A.url}${API}/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    if (up.status !== 201) throw new Error(`upload to A: ${up.status} ${await up.text()}`);
    const { cid } = (await up.json()) as { cid: string };
    const remote = await timedDownload(`${C.url}${API}/assets/${cid}`);
    const local = await timedDownload(`${A.url}${API}/assets/${cid}`);
    if (remote.bytes !== data.length || local.bytes !== data.length) throw new Error('short download');
    result.remote.push(remote);
    result.local.push(local);
  }
  return result;
}

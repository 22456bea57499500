/**
 * The file blockstore (storage/assets/file-blockstore.ts) on a real file system: blocks are written through
 * temp files in their own shard directory, and a store killed mid-write (a real process, SIGKILL) leaves
 * after its next opening no temp file and no block whose bytes differ from its name.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileBlockstore } from '../../storage/assets/file-blockstore.ts';
import { rawLeafCid } from '../../storage/assets/leaf-import.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'odyssey-file-blockstore-'));
  dirs.push(dir);
  return dir;
}

/** Every file name under the store, shard by shard (`shard/name`). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const name of await readdir(join(dir, entry.name))) out.push(`${entry.name}/${name}`);
  }
  return out;
}

describe('file blockstore', () => {
  it('stores, lists and deletes blocks, leaving no temp file and no open marker after close', async () => {
    const dir = await tempDir();
    const store = new FileBlockstore(dir);
    await store.open();
    expect(existsSync(join(dir, 'OPEN'))).toBe(true);
    const blocks = Array.from({ length: 12 }, (_, i) => randomBytes(1000 + i * 997));
    const cids = await Promise.all(blocks.map((bytes) => store.put(rawLeafCid(bytes), bytes)));
    for (const [i, cid] of cids.entries()) {
      expect(Buffer.from(await store.read(cid)).equals(blocks[i])).toBe(true);
      expect(await store.has(cid)).toBe(true);
    }
    const listed: string[] = [];
    for await (const cid of store.cids()) listed.push(cid.toString());
    expect(listed.sort()).toEqual(cids.map(String).sort());
    expect((await filesUnder(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    await store.delete(cids[0]);
    expect(await store.has(cids[0])).toBe(false);
    await expect(store.read(cids[0])).rejects.toThrow(/no block/);
    await store.close();
    expect(existsSync(join(dir, 'OPEN'))).toBe(false);
  });

  it('closes only once the puts in flight have settled, leaving no temp file behind', async () => {
    const dir = await tempDir();
    const store = new FileBlockstore(dir);
    await store.open();
    const blocks = Array.from({ length: 16 }, () => randomBytes(262_144));
    let settled = 0;
    const puts = blocks.map((bytes) => store.put(rawLeafCid(bytes), bytes).then(() => settled++));
    await store.close();
    expect(settled).toBe(blocks.length);
    expect((await filesUnder(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(dir, 'OPEN'))).toBe(false);
    await Promise.all(puts);
  });

  it('removes the temp directory of earlier versions on open and never lists it as a shard', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, '.tmp'), { recursive: true });
    await writeFile(join(dir, '.tmp', '1234-1'), 'half a block');
    const store = new FileBlockstore(dir);
    await store.open();
    expect(existsSync(join(dir, '.tmp'))).toBe(false);
    const bytes = randomBytes(4096);
    await store.put(rawLeafCid(bytes), bytes);
    expect(await filesUnder(dir)).toHaveLength(1);
    await store.close();
  });

  it('after a crash mid-write, the next opening sweeps temp files and every block matches its name', async () => {
    const dir = await tempDir();
    // A writer in a process of its own, killed with SIGKILL while its puts are in flight.
    const writer = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { FileBlockstore } = await import(${JSON.stringify(new URL('../../storage/assets/file-blockstore.ts', import.meta.url).pathname)});
         const { rawLeafCid } = await import(${JSON.stringify(new URL('../../storage/assets/leaf-import.ts', import.meta.url).pathname)});
         const { randomBytes } = await import('node:crypto');
         const store = new FileBlockstore(${JSON.stringify(dir)});
         await store.open();
         let written = 0;
         const writeForever = async () => { for (;;) { const b = randomBytes(262144); await store.put(rawLeafCid(b), b); if (++written === 40) console.log('busy'); } };
         for (let i = 0; i < 8; i++) writeForever();`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      // A writer that dies before it gets busy fails the test here instead of hanging it.
      const first = await Promise.race([
        once(writer.stdout as NodeJS.ReadableStream, 'data').then(() => 'busy'),
        once(writer, 'exit').then(() => 'exited'),
      ]);
      expect(first).toBe('busy');
    } finally {
      writer.kill('SIGKILL');
    }
    if (writer.exitCode === null && writer.signalCode === null) await once(writer, 'exit');
    expect(existsSync(join(dir, 'OPEN'))).toBe(true);
    // An interrupted write that the kill may or may not have left: planted, so the sweep always has one.
    const shard = (await filesUnder(dir))[0].split('/')[0];
    await writeFile(join(dir, shard, 'AFKREIHALF.0123456789ab-7.tmp'), 'half a block');

    const store = new FileBlockstore(dir);
    await store.open();
    const files = await filesUnder(dir);
    expect(files.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    let checked = 0;
    for await (const cid of store.cids()) {
      expect(rawLeafCid(await store.read(cid)).equals(cid)).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(40);
    expect(checked).toBe(files.length);
    await store.close();
  }, 30_000);
});

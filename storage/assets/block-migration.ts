/**
 * Moving the blocks of earlier versions, which kept them in LevelDB (`<ipfs dir>/blocks`), into the file
 * blockstore, once, when the store opens. Blocks are keyed by multihash in both, and pins live in the
 * datastore, which does not change, so pins and CIDs stay as they were.
 *
 * Crash-safe by order: every block is copied first, and the LevelDB directory is removed only after the
 * last one is in place. A crash in between leaves the LevelDB directory, and the next start copies again
 * (writing a block that is already there changes nothing).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LevelBlockstore } from 'blockstore-level';
import { type FileBlockstore, pathExists } from './file-blockstore.ts';

/** Copies at a time: enough to keep the disk busy, few enough to bound memory (256 KiB each). */
const IN_FLIGHT = 8;

/** Moves every block of the LevelDB blockstore at `levelDir` (if there is one) into `target`; the count. */
export async function migrateLevelBlocks(levelDir: string, target: FileBlockstore): Promise<number> {
  if (!(await pathExists(join(levelDir, 'CURRENT')))) return 0;
  const source = new LevelBlockstore(levelDir);
  await source.open();
  let moved = 0;
  try {
    const pending = new Set<Promise<unknown>>();
    for await (const { cid, bytes } of source.getAll()) {
      const copy: Promise<unknown> = target.put(cid, bytes).then(() => {
        pending.delete(copy);
        moved++;
      });
      copy.catch(() => {}); // a failure is thrown by the race or the final wait, never left unhandled
      pending.add(copy);
      if (pending.size >= IN_FLIGHT) await Promise.race(pending);
    }
    await Promise.all(pending);
  } finally {
    await source.close();
  }
  await rm(levelDir, { recursive: true, force: true });
  return moved;
}

/**
 * Schema 2 → 3: upload usage per uploader, summed from the asset records already stored (after the user
 * renames of schema 1 → 2). Derived data: rebuilt from scratch, so a rerun (or a table left by a crash
 * part way) ends the same.
 */
import type { AssetRecord } from '../records.ts';
import type { Tables } from '../tables.ts';

export async function migrateUploadUsage(db: Tables): Promise<void> {
  // The tables as they were at schema 3 (named here, not through their store: see tables.ts).
  const uploadUsage = db.sublevel<number>('upload-usage');
  const assets = db.sublevel<AssetRecord>('assets');
  await uploadUsage.clear();
  const usage = new Map<string, number>();
  for await (const record of assets.values()) {
    usage.set(record.uploader, (usage.get(record.uploader) ?? 0) + record.size);
  }
  await uploadUsage.batch([...usage].map(([key, value]) => ({ type: 'put' as const, key, value })));
}

/** Assets on the wire, and the lookups every asset route shares. */
import { z } from '@hono/zod-openapi';
import { DomainError, invalid, notFound } from '../common/errors.ts';
import { type AssetFetcher, AssetFetchTimeout } from '../node/assets/asset-fetcher.ts';
import { type AssetRecord, type AssetStore, parseAssetRef } from '../node/assets/storage.ts';

export const assetSchema = z
  .object({
    cid: z.string().openapi({ description: 'CIDv1 (raw leaves, 256 KiB chunks): the id and checksum' }),
    umid: z
      .string()
      .openapi({ description: "First 16 bytes of the CID's digest as a UUID (PosBus asset_type)" }),
    name: z.string(),
    kind: z.enum(['model', 'texture', 'skybox', 'image']),
    mime: z.string(),
    size: z.number().int(),
    uploader_id: z.string(),
    created_at: z.string(),
  })
  .openapi('Asset');

export function assetDto(r: AssetRecord): z.infer<typeof assetSchema> {
  return {
    cid: r.cid,
    umid: r.umid,
    name: r.name,
    kind: r.kind,
    mime: r.mime,
    size: r.size,
    uploader_id: r.uploader,
    created_at: new Date(r.createdAt).toISOString(),
  };
}

/** A CID or UMID (with or without dashes) from a path → the record; 400 when malformed, 404 when unknown. */
export async function findAsset(assets: AssetStore, text: string): Promise<AssetRecord> {
  const ref = parseAssetRef(text);
  if (!ref) throw invalid('invalid_asset_id', 'expected a CID or an asset UMID');
  const record = await assets.resolve(ref);
  if (!record) throw notFound('asset_not_found', 'asset not found');
  return record;
}

/**
 * As `findAsset`, but an asset this node lacks is looked for at its trusted peers: `remote` records are
 * made from what peers delivered, and their bytes must be read through the fetcher. 504
 * `asset_fetch_timeout` when peers do not deliver within the fetch timeout.
 */
export async function findOrFetchAsset(
  assets: AssetStore,
  fetcher: AssetFetcher,
  text: string,
): Promise<{ record: AssetRecord; remote: boolean }> {
  const ref = parseAssetRef(text);
  if (!ref) throw invalid('invalid_asset_id', 'expected a CID or an asset UMID');
  const record = await assets.resolve(ref);
  if (record) return { record, remote: false };
  try {
    const fetched = await fetcher.onDemand(ref);
    if (fetched) return { record: fetched, remote: true };
  } catch (e) {
    if (e instanceof AssetFetchTimeout) throw new DomainError('timeout', 'asset_fetch_timeout', e.message);
    throw e;
  }
  throw notFound('asset_not_found', 'asset not found');
}

/**
 * Object storage as the API sees it: the asset store and the pure helpers of `storage/assets` (asset ids,
 * kinds, CAR export, renditions), handed on here so that `api/` depends on `node/` only and a change to
 * the storage layer shows up in one place.
 */
export type { AssetStore } from '../../storage/assets/asset-store.ts';
export { CAR_CONTENT_TYPE, carStream } from '../../storage/assets/car.ts';
export { parseAssetRef, parseCid, umidOf } from '../../storage/assets/ids.ts';
export { Renditions } from '../../storage/assets/renditions.ts';
export { ASSET_KINDS, type AssetKind, isAssetKind } from '../../storage/assets/sniff.ts';
export type { AssetRecord } from '../../storage/db/records.ts';

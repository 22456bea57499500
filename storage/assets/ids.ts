/**
 * Asset ids. The CID is the asset: CIDv1, sha2-256, UnixFS with raw leaves. PosBus carries a 16-byte
 * UMID instead (`ObjectDefinition.asset_type`), so every asset also has one: the first 16 bytes of the
 * CID's multihash digest written as a UUID. It is derived, never stored as the truth; the node keeps the
 * mapping both ways only to find a CID from a UMID.
 */
import { CID } from 'multiformats/cid';

const UMID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
/** Base32 (`b…`) and base58btc CIDv0 (`Qm…`) are what IPFS tools print; nothing else is accepted. */
const CID_RE = /^(b[a-z2-7]{20,200}|Qm[1-9A-HJ-NP-Za-km-z]{44})$/;

export const NIL_UMID = '00000000-0000-0000-0000-000000000000';

/** The UMID of a CID: digest bytes 0..15 as 8-4-4-4-12 lowercase hex. */
export function umidOf(cid: CID): string {
  const hex = Buffer.from(cid.multihash.digest.subarray(0, 16)).toString('hex').padEnd(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A UMID with or without dashes, any case → lowercase 8-4-4-4-12; undefined when it is not one. */
export function normalizeUmid(text: string): string | undefined {
  if (!UMID_RE.test(text)) return undefined;
  const hex = text.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A CID in text form, or undefined. CIDv0 is upgraded to v1 so that one asset has one spelling. */
export function parseCid(text: string): CID | undefined {
  if (!CID_RE.test(text)) return undefined;
  try {
    return CID.parse(text).toV1();
  } catch {
    return undefined;
  }
}

export type AssetRef = { cid: CID; umid?: undefined } | { umid: string; cid?: undefined };

/** What every asset route accepts: a CID, or the asset's UMID with or without dashes. */
export function parseAssetRef(text: string): AssetRef | undefined {
  const umid = normalizeUmid(text);
  if (umid) return { umid };
  const cid = parseCid(text);
  return cid ? { cid } : undefined;
}

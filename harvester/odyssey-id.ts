/**
 * Odyssey ids ↔ ERC-721 token ids (docs/chains.md). The contract mints `(counter + 1) | 0x80008000000000000000`,
 * which read as a 16-byte big-endian UUID is `00000000-0000-8000-8000-00000000000N`: version 8, variant 10.
 * The staking contract carries the same uint256. The original used the low 16 bytes as the world's id, so
 * a world minted on chain has the id its token maps to, and stakes name worlds by that id.
 */

/** The bits safeMint sets on every id: the UUID version (8) and variant (10) nibbles. */
export const ODYSSEY_ID_MASK = 0x80008000000000000000n;
const LOW_128 = (1n << 128n) - 1n;

/** The world id (UUID) of a token id, or undefined when the value does not fit in 128 bits. */
export function odysseyIdOf(tokenId: bigint): string | undefined {
  if (tokenId < 0n || tokenId > LOW_128) return undefined;
  const hex = tokenId.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The token id of a world id (any 8-4-4-4-12 hex form). */
export function tokenIdOf(odysseyId: string): bigint {
  const hex = odysseyId.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not an odyssey id: ${odysseyId}`);
  return BigInt(`0x${hex}`);
}

/** The mint counter behind a token id: what the original named worlds after (`Odyssey#<n>`). */
export function odysseySequence(tokenId: bigint): bigint {
  return (tokenId & ODYSSEY_ID_MASK) === ODYSSEY_ID_MASK ? tokenId & ~ODYSSEY_ID_MASK : tokenId;
}

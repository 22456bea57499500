/**
 * A person is the same user on every node: a wallet user's id is a UUIDv5 (RFC 9562 §5.5) of the
 * wallet's canonical form under the project's namespace, so every node that meets the wallet — at a
 * sign-in or on a chain it follows — derives the same id without asking anyone. Guests keep random ids:
 * they exist on one node only.
 *
 * Canonical wallet forms (the name hashed, and the key of the node's wallet index):
 * - EVM: `0x` + 40 hex digits, lowercased (so checksum case does not matter);
 * - Substrate: `0x` + 64 lowercase hex digits, the account's public key. An SS58 address is decoded to
 *   it, so the same key under any network prefix (Polkadot, Kusama, generic) is the same person.
 * The two never collide: their lengths differ.
 *
 * Changing the namespace or these rules changes every wallet user's id: never do it on a network with data.
 */
import { createHash } from 'node:crypto';
import { invalid } from './errors.ts';
import { decodeSs58 } from './ss58.ts';

/** The namespace of wallet user ids (a random UUID chosen once for this project). */
export const USER_ID_NAMESPACE = 'b777fb24-006b-4e75-a42f-72f3149df318';

/** Which address family a wallet string is in: `ethereum` (any EVM chain) or `polkadot` (any Substrate chain). */
export type WalletNetwork = 'ethereum' | 'polkadot';

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The network a wallet string belongs to, from its shape: an EVM address, else a Substrate key or address. */
export function walletNetworkOf(wallet: string): WalletNetwork {
  return EVM_ADDRESS.test(wallet) ? 'ethereum' : 'polkadot';
}

/** The canonical form of a wallet (see above); `invalid_wallet` when it is not an address of `network`. */
export function normaliseWallet(wallet: string, network: WalletNetwork = walletNetworkOf(wallet)): string {
  if (network === 'ethereum') {
    if (!EVM_ADDRESS.test(wallet)) throw invalid('invalid_wallet', `not an Ethereum address: ${wallet}`);
    return wallet.toLowerCase();
  }
  try {
    const publicKey = decodeSs58(wallet);
    if (publicKey.length !== 32) throw new Error(`${publicKey.length} bytes, not 32`);
    return `0x${Buffer.from(publicKey).toString('hex')}`;
  } catch (e) {
    throw invalid(
      'invalid_wallet',
      `not a Substrate public key or address: ${wallet} (${(e as Error).message})`,
    );
  }
}

/** A name-based UUID, version 5 (SHA-1), as RFC 9562 §5.5 defines it. */
export function uuidV5(namespace: string, name: string): string {
  if (!UUID.test(namespace)) throw new TypeError(`not a UUID: ${namespace}`);
  const digest = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  digest[6] = (digest[6] & 0x0f) | 0x50;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  const hex = digest.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The user id of a wallet's person, on every node; the wallet in any accepted form. */
export function walletUserId(wallet: string): string {
  return uuidV5(USER_ID_NAMESPACE, normaliseWallet(wallet));
}

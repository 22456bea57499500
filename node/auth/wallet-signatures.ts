/**
 * Wallet proofs: an Ethereum EIP-191 personal_sign (viem), or a Substrate sr25519 signature over
 * `<Bytes>challenge</Bytes>` as the browser extensions' signRaw produces (@polkadot/util-crypto).
 */
import { hexToU8a, isHex, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady, decodeAddress, signatureVerify } from '@polkadot/util-crypto';
import { isAddress, verifyMessage } from 'viem';

export type Network = 'ethereum' | 'polkadot';

export class SignatureFormatError extends Error {
  override readonly name = 'SignatureFormatError';
}

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** The network a wallet string belongs to, from the client's hint or the address shape. */
export function networkOf(wallet: string, hint?: string): Network {
  if (hint === 'ethereum' || hint === 'evm') return 'ethereum';
  if (hint === 'polkadot' || hint === 'kusama' || hint === 'substrate') return 'polkadot';
  return EVM_ADDRESS.test(wallet) ? 'ethereum' : 'polkadot';
}

/**
 * The canonical form we store and index a wallet under: lowercase 0x-address for EVM, lowercase 0x + 64
 * hex public key for Substrate (SS58 addresses of any network map to their key). Throws on a malformed one.
 */
export function canonicalWallet(wallet: string, network: Network): string {
  if (network === 'ethereum') {
    if (!isAddress(wallet, { strict: false }))
      throw new SignatureFormatError(`not an Ethereum address: ${wallet}`);
    return wallet.toLowerCase();
  }
  try {
    const key = isHex(wallet) ? hexToU8a(wallet) : decodeAddress(wallet);
    if (key.length !== 32) throw new Error('not 32 bytes');
    return u8aToHex(key);
  } catch (e) {
    throw new SignatureFormatError(
      `not a Substrate public key or address: ${wallet} (${(e as Error).message})`,
    );
  }
}

/** True when `signature` proves `wallet` signed `challenge`. Throws SignatureFormatError on malformed input. */
export async function verifyWalletSignature(
  network: Network,
  wallet: string,
  challenge: string,
  signature: string,
): Promise<boolean> {
  if (network === 'ethereum') {
    const hex = (signature.startsWith('0x') ? signature : `0x${signature}`) as `0x${string}`;
    if (!/^0x[0-9a-fA-F]{130}$/.test(hex))
      throw new SignatureFormatError('an Ethereum signature is 65 bytes of hex');
    try {
      return await verifyMessage({ address: wallet as `0x${string}`, message: challenge, signature: hex });
    } catch (e) {
      throw new SignatureFormatError(`bad signature: ${(e as Error).message}`);
    }
  }
  await cryptoWaitReady();
  const sig = signature.startsWith('0x') ? signature : `0x${signature}`;
  if (!/^0x[0-9a-fA-F]{128}$/.test(sig))
    throw new SignatureFormatError('an sr25519 signature is 64 bytes of hex');
  const publicKey = canonicalWallet(wallet, 'polkadot');
  const result = signatureVerify(u8aWrapBytes(challenge), sig, publicKey);
  return result.isValid && result.crypto === 'sr25519';
}

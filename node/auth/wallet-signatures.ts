/**
 * Wallet proofs: an Ethereum EIP-191 personal_sign (viem), or a Substrate sr25519 signature over
 * `<Bytes>challenge</Bytes>` as the browser extensions' signRaw produces (@polkadot/util-crypto). Both
 * libraries are imported at the first proof: an idle node need not hold them (docs/benchmarks.md).
 */
import { invalid } from '../../common/errors.ts';
import { normaliseWallet, type WalletNetwork, walletNetworkOf } from '../../common/user-id.ts';

export type Network = WalletNetwork;

/** Malformed proof input: the original's reason for anything wrong with a signature or its wallet. */
const malformed = (message: string) => invalid('signature_validation_failed', message);

/** The network a wallet string belongs to, from the client's hint or the address shape. */
export function networkOf(wallet: string, hint?: string): Network {
  if (hint === 'ethereum' || hint === 'evm') return 'ethereum';
  if (hint === 'polkadot' || hint === 'kusama' || hint === 'substrate') return 'polkadot';
  return walletNetworkOf(wallet);
}

/**
 * The canonical form we store and index a wallet under (the rules are common/user-id.ts's, where the
 * wallet user's id is derived from it). Refuses a malformed one as `invalid_wallet`.
 */
export function canonicalWallet(wallet: string, network: Network): string {
  return normaliseWallet(wallet, network);
}

/** The canonical form of the wallet in a signed proof, where a malformed one fails the proof's validation. */
export function proofWallet(wallet: string, network: Network): string {
  try {
    return normaliseWallet(wallet, network);
  } catch (e) {
    throw malformed((e as Error).message);
  }
}

/**
 * True when `signature` proves `wallet` signed `challenge`. Refuses malformed input as
 * `signature_validation_failed`.
 */
export async function verifyWalletSignature(
  network: Network,
  wallet: string,
  challenge: string,
  signature: string,
): Promise<boolean> {
  if (network === 'ethereum') {
    const hex = (signature.startsWith('0x') ? signature : `0x${signature}`) as `0x${string}`;
    if (!/^0x[0-9a-fA-F]{130}$/.test(hex)) throw malformed('an Ethereum signature is 65 bytes of hex');
    const { verifyMessage } = await import('viem');
    try {
      return await verifyMessage({ address: wallet as `0x${string}`, message: challenge, signature: hex });
    } catch (e) {
      throw malformed(`bad signature: ${(e as Error).message}`);
    }
  }
  const [{ u8aWrapBytes }, { cryptoWaitReady, signatureVerify }] = await Promise.all([
    import('@polkadot/util'),
    import('@polkadot/util-crypto'),
  ]);
  await cryptoWaitReady();
  const sig = signature.startsWith('0x') ? signature : `0x${signature}`;
  if (!/^0x[0-9a-fA-F]{128}$/.test(sig)) throw malformed('an sr25519 signature is 64 bytes of hex');
  const publicKey = proofWallet(wallet, 'polkadot');
  const result = signatureVerify(u8aWrapBytes(challenge), sig, publicKey);
  return result.isValid && result.crypto === 'sr25519';
}

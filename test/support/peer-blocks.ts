/**
 * Blocks as peers publish them, for the harvester suites that feed a chain by hand (peer votes, gap
 * fill, pull answers): one anvil-like EVM chain with one token, mints to one wallet, and hashes that
 * say their height (and fork) so a failing assertion reads plainly.
 */
import { type EvmChainConfig, evmChainSchema } from '../../harvester/config.ts';
import type { ChainBlockAnnouncement, WireChainEvent } from '../../protocol/gossip/index.ts';

export const CHAIN = 'eip155:31337';
export const TOKEN = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
export const ZERO = '0x0000000000000000000000000000000000000000';
export const ALICE = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';

/** The hash of block `n` (another `fork`: another block at that height). */
export const hash = (n: number, fork = 0) => `0x${(n * 16 + fork).toString(16).padStart(64, '0')}`;

/** A mint of `amount` tokens to ALICE in block `n`. */
export const mint = (n: number, amount: number): WireChainEvent => ({
  txHash: hash(n, 9),
  logIndex: 0,
  kind: 'token.transfer',
  contract: TOKEN,
  from: ZERO,
  to: ALICE,
  amount: `${amount}`,
  raw: { topics: [], data: '0x' },
});

export const block = (
  n: number,
  events: WireChainEvent[],
  link: { number: number; hash: string } | null,
  fork = 0,
): ChainBlockAnnouncement => ({ chainId: CHAIN, number: n, hash: hash(n, fork), link, events });

/** The chain's config: followed through peers, or read through an RPC (one nobody answers, on loopback). */
export const evmChain = (source: 'peers' | 'rpc'): EvmChainConfig =>
  evmChainSchema.parse({
    name: 'anvil',
    chainId: 31337,
    source,
    ...(source === 'rpc' ? { rpcUrl: 'http://127.0.0.1:9' } : {}),
    contracts: { tokens: [TOKEN] },
  });

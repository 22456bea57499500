/**
 * Harvester configuration: one entry per chain adapter, under the node config key `chains` (a JSON array
 * in the config file, or a JSON string in ODYSSEY_CHAINS / --chains). Empty by default: the harvester is
 * off until an operator names an RPC. Presets fill in what is known of a public chain; anything set
 * explicitly wins.
 */
import { z } from 'zod';
import { decodeSs58 } from '../common/ss58.ts';

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte hex address')
  .transform((a) => a.toLowerCase());

/** Where a chain's blocks come from: the node's own RPC, or trusted peers that have one. */
const chainSource = z.enum(['rpc', 'peers']).default('rpc');

/** An RPC URL with `source: rpc`, none with `source: peers` (a URL there would suggest it is used). */
function checkSource(c: { source: 'rpc' | 'peers'; rpcUrl?: string }, ctx: z.RefinementCtx): void {
  if (c.source === 'rpc' && !c.rpcUrl) {
    ctx.addIssue({ code: 'custom', path: ['rpcUrl'], message: 'rpcUrl is required unless source is peers' });
  }
  if (c.source === 'peers' && c.rpcUrl) {
    ctx.addIssue({ code: 'custom', path: ['rpcUrl'], message: 'a chain with source peers takes no rpcUrl' });
  }
}

const rpcUrl = z
  .string()
  .url()
  .refine((u) => /^(https?|wss?):\/\//.test(u), 'expected an http(s):// or ws(s):// URL');

/** Known EVM chains: id, and defaults that suit their block times and reorg habits. */
export const EVM_PRESETS = {
  ethereum: { chainId: 1, confirmations: 12, pollIntervalMs: 12_000, maxBlockRange: 2000 },
  arbitrum: { chainId: 42161, confirmations: 20, pollIntervalMs: 1000, maxBlockRange: 10_000 },
  'arbitrum-nova': { chainId: 42170, confirmations: 20, pollIntervalMs: 1000, maxBlockRange: 10_000 },
} as const;

export const evmChainSchema = z
  .object({
    /** Unique label of this adapter (status route, logs). */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes'),
    family: z.literal('evm').default('evm'),
    /** `rpc`: read the chain through `rpcUrl`; `peers`: apply what trusted peers publish (harvester/peers/peer-adapter.ts). */
    source: chainSource,
    preset: z.enum(Object.keys(EVM_PRESETS) as [keyof typeof EVM_PRESETS]).optional(),
    /** Required without a preset; checked against the RPC's eth_chainId. */
    chainId: z.coerce.number().int().positive().optional(),
    /** Required with `source: rpc`; absent with `source: peers`. */
    rpcUrl: rpcUrl.optional(),
    /** First block to read when there is no checkpoint (the contracts' deployment block is ideal). */
    startBlock: z.coerce.number().int().min(0).default(0),
    /** Blocks behind the head before a block is processed, or `finalized` for the chain's finalized tag. */
    confirmations: z.union([z.coerce.number().int().min(0).max(10_000), z.literal('finalized')]).optional(),
    pollIntervalMs: z.coerce.number().int().min(10).max(600_000).optional(),
    /** Largest getLogs block range; it shrinks by itself when the RPC refuses a range. */
    maxBlockRange: z.coerce.number().int().min(1).max(1_000_000).optional(),
    /** Processed blocks kept for rolling back a reorg; deeper reorgs are reported, not repaired. */
    reorgWindow: z.coerce.number().int().min(1).max(1_000_000).default(2000),
    contracts: z
      .object({
        /** ERC-20 tokens whose Transfers become balances (MOM, DAD…). */
        tokens: z.array(address).default([]),
        /** ERC-721 collections whose Transfers become NFT ownership. */
        nfts: z.array(address).default([]),
        /** The Odyssey NFT: its mints create worlds, its transfers move world ownership. Also an nft. */
        odysseyNft: address.optional(),
        staking: address.optional(),
        nodeManagement: address.optional(),
      })
      .strict()
      .default({ tokens: [], nfts: [] }),
    /** Wallets whose native balance is tracked (sampled at the end of each processed range). */
    watchWallets: z.array(address).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkSource(c, ctx);
    if (c.chainId === undefined && !c.preset) {
      ctx.addIssue({ code: 'custom', path: ['chainId'], message: 'chainId is required without a preset' });
    }
    if (c.preset && c.chainId !== undefined && c.chainId !== EVM_PRESETS[c.preset].chainId) {
      ctx.addIssue({
        code: 'custom',
        path: ['chainId'],
        message: `preset ${c.preset} is chain ${EVM_PRESETS[c.preset].chainId}`,
      });
    }
  })
  .transform((c) => {
    const preset = c.preset ? EVM_PRESETS[c.preset] : undefined;
    const nfts = [
      ...new Set([...c.contracts.nfts, ...(c.contracts.odysseyNft ? [c.contracts.odysseyNft] : [])]),
    ];
    return {
      ...c,
      rpcUrl: c.rpcUrl ?? '',
      chainId: c.chainId ?? (preset?.chainId as number),
      confirmations: c.confirmations ?? preset?.confirmations ?? 0,
      pollIntervalMs: c.pollIntervalMs ?? preset?.pollIntervalMs ?? 2000,
      maxBlockRange: c.maxBlockRange ?? preset?.maxBlockRange ?? 2000,
      contracts: { ...c.contracts, nfts },
    };
  });

export type EvmChainConfig = z.output<typeof evmChainSchema>;

/**
 * Known Substrate chains: genesis hash (the chain's identity, checked against the RPC) and SS58 prefix
 * (Polkadot 0, Kusama 2; the original coded Polkadot's as 1).
 */
export const SUBSTRATE_PRESETS = {
  polkadot: {
    genesisHash: '0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3',
    ss58Prefix: 0,
    pollIntervalMs: 6000,
  },
  kusama: {
    genesisHash: '0xb0a8d493285c2df73290dfb7e61f870f17b41801197a149ca93654499ea3dafe',
    ss58Prefix: 2,
    pollIntervalMs: 6000,
  },
} as const;

const hash32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 0x-prefixed 32-byte hex hash')
  .transform((h) => h.toLowerCase());

const substrateAccount = z.string().refine((a) => {
  try {
    decodeSs58(a);
    return true;
  } catch {
    return false;
  }
}, 'expected an SS58 address or a 0x-prefixed public key');

/**
 * A Substrate chain through @polkadot/api: follows finalized heads (confirmations = finality) and reads
 * the balance events of each block, decoded with the chain's own metadata at that block.
 */
export const substrateChainSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes'),
    family: z.literal('substrate'),
    source: chainSource,
    preset: z.enum(Object.keys(SUBSTRATE_PRESETS) as [keyof typeof SUBSTRATE_PRESETS]).optional(),
    /** Required without a preset; checked against the RPC's genesis hash. Also the chain id (CAIP-2). */
    genesisHash: hash32.optional(),
    /** WebSocket only: the adapter subscribes to finalized heads. Absent with `source: peers`. */
    rpcUrl: rpcUrl
      .refine((u) => /^wss?:\/\//.test(u), 'expected a ws(s):// URL for a Substrate chain')
      .optional(),
    /** First block to read when there is no checkpoint; default: the finalized block at first start. */
    startBlock: z.coerce.number().int().min(0).optional(),
    /** Address format of the events; default: the preset's, else the chain's own (system_properties), else 42. */
    ss58Prefix: z.coerce.number().int().min(0).max(16_383).optional(),
    /** Fallback poll of the finalized head; the finalized-heads subscription wakes the loop earlier. */
    pollIntervalMs: z.coerce.number().int().min(10).max(600_000).optional(),
    /** Blocks read per step during catch-up. */
    maxBlockRange: z.coerce.number().int().min(1).max(10_000).default(50),
    /** Accounts (SS58 of any prefix, or 0x public keys) whose balance events are kept; empty = all. */
    accounts: z.array(substrateAccount).default([]),
    reorgWindow: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkSource(c, ctx);
    if (c.genesisHash === undefined && !c.preset) {
      ctx.addIssue({
        code: 'custom',
        path: ['genesisHash'],
        message: 'genesisHash is required without a preset',
      });
    }
    if (
      c.preset &&
      c.genesisHash !== undefined &&
      c.genesisHash !== SUBSTRATE_PRESETS[c.preset].genesisHash
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['genesisHash'],
        message: `preset ${c.preset} has genesis ${SUBSTRATE_PRESETS[c.preset].genesisHash}`,
      });
    }
  })
  .transform((c) => {
    const preset = c.preset ? SUBSTRATE_PRESETS[c.preset] : undefined;
    return {
      ...c,
      rpcUrl: c.rpcUrl ?? '',
      genesisHash: c.genesisHash ?? (preset?.genesisHash as string),
      ss58Prefix: c.ss58Prefix ?? preset?.ss58Prefix,
      pollIntervalMs: c.pollIntervalMs ?? preset?.pollIntervalMs ?? 2000,
    };
  });

export type SubstrateChainConfig = z.output<typeof substrateChainSchema>;

export type ChainConfig = EvmChainConfig | SubstrateChainConfig;

/** The chain id events carry: CAIP-2, `eip155:<id>` or `polkadot:<first 16 bytes of the genesis hash>`. */
export const chainIdOf = (c: ChainConfig): string =>
  c.family === 'evm' ? `eip155:${c.chainId}` : `polkadot:${c.genesisHash.slice(2, 34)}`;

/** The `chains` config key: accepts the array itself or its JSON text (environment and flags are strings). */
export const chainsSchema = z
  .preprocess(
    (v) => {
      if (typeof v !== 'string') return v;
      try {
        return v.trim() ? JSON.parse(v) : [];
      } catch {
        return v; // left as a string, so the array check below names the key
      }
    },
    z.array(z.discriminatedUnion('family', [evmChainSchema, substrateChainSchema])),
  )
  .superRefine((chains, ctx) => {
    // State is kept per chain id, so two adapters on one chain would count every event twice.
    const names = new Set<string>();
    const ids = new Set<string>();
    chains.forEach((c, i) => {
      if (c.family === 'substrate' && !c.genesisHash) return; // already reported on the entry
      const id = chainIdOf(c);
      if (names.has(c.name)) {
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate chain name ${c.name}` });
      }
      if (ids.has(id)) {
        ctx.addIssue({
          code: 'custom',
          path: [i, c.family === 'evm' ? 'chainId' : 'genesisHash'],
          message: `chain ${c.family === 'evm' ? c.chainId : id} is configured twice`,
        });
      }
      names.add(c.name);
      ids.add(id);
    });
  })
  .default([]);

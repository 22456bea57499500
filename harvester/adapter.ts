/**
 * The one interface every chain family (EVM, Substrate) implements. An adapter knows how to
 * talk to its chain and how to turn that chain's logs into normalised ChainEvents; it knows nothing of
 * LevelDB or worlds. The harvester drives it: `follow(from)` yields confirmed blocks in order, each with
 * its events, and a `reorg` item when the chain no longer contains what was processed. Because the
 * consumer pulls, the adapter only moves on after the previous block is committed (backpressure), and a
 * restart simply calls `follow` again from the stored checkpoint.
 *
 * Reorgs are detected by comparing block hashes (neither viem's watchers nor the local test chains ever
 * deliver `removed: true` logs, see docs/chains.md): the adapter checks that the block it last handed out is
 * still on the chain (parent-hash or hash-at-height), and if not walks the consumer's stored hashes back
 * to the highest one the chain still has: the common ancestor.
 */
import type { EventEmitter } from 'node:events';

/** The EVM zero address: a transfer from it is a mint, to it a burn (kept here, not in evm/abi.ts, so that
 * chain state does not load viem on a node that follows no EVM chain). */
export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

export type ChainFamily = 'evm' | 'substrate';

export type ChainEventKind =
  /** ERC-20 (or a native-asset pallet) transfer of a configured token; from the zero address = mint. */
  | 'token.transfer'
  /** ERC-721 transfer of a configured collection; from the zero address = mint, to it = burn. */
  | 'nft.transfer'
  | 'stake'
  | 'unstake'
  /** Stake moved from one odyssey to another (the original dropped these). */
  | 'restake'
  /** Unstaked tokens claimed back after the unbonding period. */
  | 'claimed-unstaked'
  /** NodeManagement: an odyssey moved from one node to another (both event names). */
  | 'node.odyssey-moved'
  /** The native balance of a watched wallet changed (a snapshot at that block, not a delta). */
  | 'native.balance'
  /** A Substrate `balances` pallet event (Transfer, Deposit, Withdraw, Endowed…), see SUBSTRATE_BALANCE_KINDS. */
  | SubstrateBalanceKind
  /**
   * A Substrate account's free balance after the block (a snapshot, not a delta), read from
   * System.Account at that block for every watched account the block's balance events name.
   */
  | 'balances.free';

/**
 * The Substrate `balances` events the adapter reports, by event name. Each becomes the kind
 * `balances.<kebab-case name>`; `from`/`to` carry the account(s) (`to` is '' for one-account events) and
 * `amount` the balance the event names (the free balance for Endowed and BalanceSet).
 */
export const SUBSTRATE_BALANCE_KINDS = {
  Transfer: 'balances.transfer',
  Deposit: 'balances.deposit',
  Withdraw: 'balances.withdraw',
  Endowed: 'balances.endowed',
  DustLost: 'balances.dust-lost',
  BalanceSet: 'balances.balance-set',
  Reserved: 'balances.reserved',
  Unreserved: 'balances.unreserved',
  ReserveRepatriated: 'balances.reserve-repatriated',
  Slashed: 'balances.slashed',
  Minted: 'balances.minted',
  Burned: 'balances.burned',
  Suspended: 'balances.suspended',
  Restored: 'balances.restored',
  Locked: 'balances.locked',
  Unlocked: 'balances.unlocked',
  Frozen: 'balances.frozen',
  Thawed: 'balances.thawed',
} as const;

export type SubstrateBalanceKind = (typeof SUBSTRATE_BALANCE_KINDS)[keyof typeof SUBSTRATE_BALANCE_KINDS];

/**
 * A chain event in a family-neutral shape. Amounts and token ids are decimal strings (lossless, and the
 * same in JSON, CBOR and gossip); addresses are the chain's canonical form: lowercase hex on EVM chains,
 * SS58 with the chain's prefix on Substrate chains (case-sensitive).
 */
export interface ChainEvent {
  /** chainId:txHash:logIndex — the idempotency key. */
  id: string;
  /** CAIP-2 style: `eip155:<chain id>`, or `polkadot:<genesis hash, first 16 bytes>` for Substrate. */
  chainId: string;
  blockNumber: number;
  blockHash: string;
  /** Substrate: the extrinsic's hash, or the block hash for events outside an extrinsic. */
  txHash: string;
  /** Substrate: the event's index in the block's System.Events. */
  logIndex: number;
  kind: ChainEventKind;
  /** The emitting contract (token, collection, staking or node-management contract); Substrate: the pallet. */
  contract: string;
  /** Sender, staker (stakes), or the node an odyssey left (node.odyssey-moved). */
  from: string;
  /** Receiver, or the node an odyssey moved to; '' when the event has no receiver. */
  to: string;
  amount?: string;
  tokenId?: string;
  /** Odyssey (world) id as a UUID: the staked odyssey, the restake source, or the moved odyssey. */
  odysseyId?: string;
  /** Restake destination. */
  odysseyTo?: string;
  /** Which staking token: 0 MOM, 1 DAD (the contract's `Token` enum). */
  token?: number;
  /**
   * The undecoded log, for consumers that want more than the normalised fields. Substrate: topics =
   * [`pallet.Event`, ...the event's topics], data = the SCALE-encoded event fields.
   */
  raw: { topics: string[]; data: string };
}

export interface BlockRef {
  number: number;
  hash: string;
}

export type FollowItem =
  /** A confirmed block and its events (empty for the last block of a quiet range: it moves the checkpoint). */
  | { type: 'block'; block: BlockRef; events: ChainEvent[] }
  /**
   * Blocks above `ancestor` are no longer on the chain: roll back to it, then more blocks follow. A null
   * ancestor means nothing processed survives (deeper than the reorg window): start over.
   */
  | { type: 'reorg'; ancestor: BlockRef | null; from: BlockRef };

/** What the adapter needs to know about what was processed, to find a common ancestor. */
export interface ProcessedBlocks {
  /** Stored block refs below `height`, highest first, at most `limit`. */
  below(height: number, limit: number): Promise<BlockRef[]>;
}

export type AdapterHealth = 'starting' | 'ok' | 'degraded' | 'stopped';

export interface AdapterStatus {
  name: string;
  family: ChainFamily;
  chainId: string;
  health: AdapterHealth;
  /** Latest block the RPC reported (null before the first answer). */
  head: number | null;
  /** Highest block considered confirmed (head − confirmations, or the chain's finalized block). */
  confirmed: number | null;
  /** Last block handed to the consumer and acknowledged. */
  processed: number | null;
  /** head − processed. */
  lag: number | null;
  /** Current getLogs (or equivalent) range; shrinks when the RPC refuses a range. */
  rangeSize: number;
  reorgs: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

export interface AdapterEvents {
  head: [number];
  reorg: [{ ancestor: BlockRef | null; from: BlockRef }];
  error: [Error];
  /** The range size changed (refused range, or recovered). */
  range: [number];
}

export interface ChainAdapter extends EventEmitter<AdapterEvents> {
  readonly name: string;
  readonly family: ChainFamily;
  readonly chainId: string;
  /** Opens connections; never throws on an unreachable RPC (that shows as health and lastError). */
  start(): Promise<void>;
  /** Ends `follow` loops and closes connections. */
  stop(): Promise<void>;
  /**
   * Confirmed blocks after `from` (or from the configured start block), in order, until `stop` or the
   * signal aborts. RPC failures are retried with backoff inside; the iterator does not throw for them.
   */
  follow(
    from: BlockRef | undefined,
    processed: ProcessedBlocks,
    signal: AbortSignal,
  ): AsyncIterable<FollowItem>;
  status(): AdapterStatus;
}

/** The id every consumer uses for an event: the same log seen twice is the same event. */
export const eventId = (chainId: string, txHash: string, logIndex: number): string =>
  `${chainId}:${txHash.toLowerCase()}:${logIndex}`;

/** The id of a `balances.free` snapshot: one per account and block, whoever reads it. */
export const freeBalanceId = (chainId: string, blockHash: string, account: string): string =>
  `${chainId}:${blockHash.toLowerCase()}:free:${account}`;

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Substrate balance events → normalised ChainEvents. Pure: it takes a block's System.Events already
 * decoded with the chain's own metadata (at that block), so it can be tested with any registry — the
 * real Polkadot and Kusama metadata in unit tests, a live chain in the adapter.
 *
 * Accounts become SS58 with the chain's prefix (Polkadot 0, Kusama 2, generic 42). Fields are read by
 * name (metadata v14+); older metadata without field names falls back to the documented positions.
 */
import type { Codec } from '@polkadot/types/types';
import { u8aToHex } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import {
  type BlockRef,
  type ChainEvent,
  eventId,
  freeBalanceId,
  SUBSTRATE_BALANCE_KINDS,
} from '../adapter.ts';
import { accountIdOf } from '../state.ts';

type BalanceEventName = keyof typeof SUBSTRATE_BALANCE_KINDS;

/** The slice of an EventRecord this module reads (FrameSystemEventRecord satisfies it). */
export interface EventRecordLike {
  phase: { isApplyExtrinsic: boolean; asApplyExtrinsic: { toNumber(): number } };
  event: {
    section: string;
    method: string;
    data: Codec[] & { names?: string[] | null; toU8a(): Uint8Array };
  };
  topics: { toHex(): string }[];
}

export interface DecodeContext {
  chainId: string;
  block: BlockRef;
  ss58Prefix: number;
  /** Extrinsic hashes of the block, by index (events in an extrinsic's phase carry its hash). */
  extrinsicHashes: readonly string[];
  /** Public keys (0x hex) to report; empty or absent = every account. */
  accounts?: ReadonlySet<string>;
}

/** Names of the account fields (in order: from, to) and the amount field, per event. */
const FIELDS: Record<BalanceEventName, { accounts: string[]; amount?: string }> = {
  Transfer: { accounts: ['from', 'to'], amount: 'amount' },
  ReserveRepatriated: { accounts: ['from', 'to'], amount: 'amount' },
  Endowed: { accounts: ['account'], amount: 'freeBalance' },
  DustLost: { accounts: ['account'], amount: 'amount' },
  BalanceSet: { accounts: ['who'], amount: 'free' },
  Deposit: { accounts: ['who'], amount: 'amount' },
  Withdraw: { accounts: ['who'], amount: 'amount' },
  Reserved: { accounts: ['who'], amount: 'amount' },
  Unreserved: { accounts: ['who'], amount: 'amount' },
  Slashed: { accounts: ['who'], amount: 'amount' },
  Minted: { accounts: ['who'], amount: 'amount' },
  Burned: { accounts: ['who'], amount: 'amount' },
  Suspended: { accounts: ['who'], amount: 'amount' },
  Restored: { accounts: ['who'], amount: 'amount' },
  Locked: { accounts: ['who'], amount: 'amount' },
  Unlocked: { accounts: ['who'], amount: 'amount' },
  Frozen: { accounts: ['who'], amount: 'amount' },
  Thawed: { accounts: ['who'], amount: 'amount' },
};

const isBalanceEvent = (method: string): method is BalanceEventName => Object.hasOwn(FIELDS, method);

/** An account id as SS58 with the given prefix; 20-byte (EVM-style) ids stay lowercase hex. */
export function ss58(accountId: Uint8Array, prefix: number): string {
  return accountId.length === 20 ? u8aToHex(accountId) : encodeAddress(accountId, prefix);
}

/** The balance events of one block, in event order. */
export function decodeBalanceEvents(records: Iterable<EventRecordLike>, ctx: DecodeContext): ChainEvent[] {
  const out: ChainEvent[] = [];
  let index = -1;
  for (const record of records) {
    index++;
    const { event } = record;
    if (event.section !== 'balances' || !isBalanceEvent(event.method)) continue;
    const spec = FIELDS[event.method];
    const names = event.data.names ?? null;
    const field = (name: string, position: number): Codec | undefined =>
      names ? event.data[names.indexOf(name)] : event.data[position];
    const keys = spec.accounts.map((name, i) => field(name, i)?.toU8a());
    if (keys.some((k) => !k)) continue;
    if (ctx.accounts?.size && !keys.some((k) => ctx.accounts?.has(u8aToHex(k)))) continue;
    const [from, to] = keys.map((k) => ss58(k as Uint8Array, ctx.ss58Prefix));
    const amount = spec.amount ? field(spec.amount, spec.accounts.length) : undefined;
    const phase = record.phase;
    const txHash =
      (phase.isApplyExtrinsic ? ctx.extrinsicHashes[phase.asApplyExtrinsic.toNumber()] : undefined) ??
      ctx.block.hash;
    out.push({
      id: eventId(ctx.chainId, txHash, index),
      chainId: ctx.chainId,
      blockNumber: ctx.block.number,
      blockHash: ctx.block.hash,
      txHash,
      logIndex: index,
      kind: SUBSTRATE_BALANCE_KINDS[event.method],
      contract: 'balances',
      from,
      to: to ?? '',
      ...(amount ? { amount: amount.toString() } : {}),
      raw: {
        topics: [`${event.section}.${event.method}`, ...record.topics.map((t) => t.toHex())],
        data: u8aToHex(event.data.toU8a()),
      },
    });
  }
  return out;
}

/**
 * The accounts whose free balance a block's balance events may have changed, in first-seen order:
 * every account they name, limited to the watched ones (public keys as 0x hex; empty = all).
 */
export function touchedAccounts(events: readonly ChainEvent[], watched: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const e of events) {
    for (const address of [e.from, e.to]) {
      const id = address ? accountIdOf(address) : undefined;
      if (id && (!watched.size || watched.has(id))) out.add(address);
    }
  }
  return [...out];
}

/** A `balances.free` snapshot: `account`'s free balance after `block`. */
export function freeBalanceEvent(
  chainId: string,
  block: BlockRef,
  account: string,
  free: string,
): ChainEvent {
  return {
    id: freeBalanceId(chainId, block.hash, account),
    chainId,
    blockNumber: block.number,
    blockHash: block.hash,
    txHash: block.hash,
    logIndex: -1,
    kind: 'balances.free',
    contract: 'balances',
    from: account,
    to: '',
    amount: free,
    raw: { topics: ['system.account'], data: '0x' },
  };
}

/**
 * Between the harvester's ChainEvent and the chain topic's wire form: what a publisher sends, what a
 * receiver rebuilds (ids and block fields recomputed, never taken from the peer), and the digest two
 * publications are compared by.
 */
import { createHash } from 'node:crypto';
import type { BlockLink, ChainBlockAnnouncement, WireChainEvent } from '../../protocol/gossip/index.ts';
import { type ChainEvent, type ChainEventKind, SUBSTRATE_BALANCE_KINDS } from '../adapter.ts';
import { canonicalId } from '../state.ts';
import { coverageKey } from './coverage.ts';

/**
 * Kinds a peer may publish. `native.balance` is left out: it is a sample of a watched wallet at the end
 * of a publisher's read range, so it differs between honest publishers and has no log to check it by.
 * `balances.free` is in: it is read at the block itself (System.Account), so every honest reader of
 * that block gets the same figure; it is compared per account (coverage.ts).
 */
const SHARED_KINDS: ReadonlySet<string> = new Set<ChainEventKind>([
  'token.transfer',
  'nft.transfer',
  'stake',
  'unstake',
  'restake',
  'claimed-unstaked',
  'node.odyssey-moved',
  ...Object.values(SUBSTRATE_BALANCE_KINDS),
  'balances.free',
]);

export const isShared = (e: ChainEvent): boolean => SHARED_KINDS.has(e.kind);

export function toWire(e: ChainEvent): WireChainEvent {
  const w: WireChainEvent = {
    txHash: e.txHash.toLowerCase(),
    logIndex: e.logIndex,
    kind: e.kind,
    contract: e.contract,
    from: e.from,
    to: e.to,
    raw: { topics: [...e.raw.topics], data: e.raw.data },
  };
  if (e.amount !== undefined) w.amount = e.amount;
  if (e.tokenId !== undefined) w.tokenId = e.tokenId;
  if (e.odysseyId !== undefined) w.odysseyId = e.odysseyId;
  if (e.odysseyTo !== undefined) w.odysseyTo = e.odysseyTo;
  if (e.token !== undefined) w.token = e.token;
  return w;
}

/** A published block's events as this node's own; undefined when a kind is not one peers may publish. */
export function fromWire(a: ChainBlockAnnouncement): ChainEvent[] | undefined {
  const events: ChainEvent[] = [];
  for (const w of a.events) {
    if (!SHARED_KINDS.has(w.kind)) return undefined;
    // Only a snapshot is not a log: a log index of -1 on anything else is refused.
    if ((w.kind === 'balances.free') !== (w.logIndex === -1)) return undefined;
    const e: ChainEvent = {
      ...w,
      kind: w.kind as ChainEventKind,
      id: '',
      chainId: a.chainId,
      blockNumber: a.number,
      blockHash: a.hash,
    };
    e.id = canonicalId(e);
    events.push(e);
  }
  return events;
}

/** Field order fixed here, so two encoders (or two builds) of the same event give the same digest. */
function canonical(w: WireChainEvent): unknown[] {
  return [
    w.txHash.toLowerCase(),
    w.logIndex,
    w.kind,
    w.contract,
    w.from,
    w.to,
    w.amount ?? null,
    w.tokenId ?? null,
    w.odysseyId ?? null,
    w.odysseyTo ?? null,
    w.token ?? null,
    w.raw.topics,
    w.raw.data,
  ];
}

/** Snapshots share a tx hash (the block's) and log index (-1): the account orders them. */
const order = (a: WireChainEvent, b: WireChainEvent) =>
  a.txHash < b.txHash
    ? -1
    : a.txHash > b.txHash
      ? 1
      : a.logIndex - b.logIndex || (a.from < b.from ? -1 : a.from > b.from ? 1 : 0);

/** The digest of a block's events, independent of the order they were listed in. */
export function eventsDigest(events: readonly WireChainEvent[]): string {
  const sorted = [...events].sort(order).map(canonical);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/**
 * What peers must agree on for a block: its number, hash, link, events, and the accounts it covers
 * (publishers watching different accounts vote apart, see coverage.ts).
 */
export function blockDigest(a: ChainBlockAnnouncement): string {
  const link = a.link ? [a.link.number, a.link.hash] : null;
  const parts: unknown[] = [a.chainId, a.number, a.hash, link, eventsDigest(a.events)];
  // Appended only when present, so that publications without coverage keep their digest.
  if (a.accounts) parts.push(coverageKey(a.accounts));
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export const sameLink = (a: BlockLink | null, b: BlockLink | null): boolean =>
  a === b || (a !== null && b !== null && a.number === b.number && a.hash === b.hash);

/**
 * Which accounts a publication speaks for. Substrate nodes keep the balance events (and derive the
 * `balances.free` snapshots) of the accounts they watch only, and nodes watch different accounts: two
 * honest publishers of one block then publish different events. So a publication says which accounts it
 * covers (`accounts`, absent = every account), and the rule is per account:
 *
 * - account-scoped events (`balances.*`) belong to the accounts they name; the other kinds (EVM logs) to
 *   everyone, and are always compared in full;
 * - an RPC node compares a peer's publication with its own reading on the accounts both cover: a lie
 *   about an account's balance is caught by any RPC node that watches that account; the rest of the
 *   publication is outside what it can judge;
 * - the link (last block with events) depends on what the publisher covers, so it is compared only
 *   between publishers covering the same accounts, and peers vote for a block together only when they
 *   cover the same accounts (the coverage is part of the block's digest);
 * - a publication whose account-scoped events name no account it covers is self-contradictory: refused.
 */
import type { ChainBlockAnnouncement } from '../../protocol/gossip/index.ts';
import type { ChainConfig } from '../config.ts';
import { accountIdOf } from '../state.ts';

/** Account ids (0x hex) covered; null = every account. */
export type Coverage = ReadonlySet<string> | null;

export const isAccountScoped = (kind: string): boolean => kind.startsWith('balances.');

export const coverageOf = (a: ChainBlockAnnouncement): Coverage => (a.accounts ? new Set(a.accounts) : null);

/** What this node covers for a chain: a Substrate chain's watched accounts (none listed = every one). */
export function ownCoverage(config: ChainConfig): Coverage {
  if (config.family !== 'substrate' || !config.accounts.length) return null;
  return new Set(config.accounts.map(accountIdOf).filter((id): id is string => id !== undefined));
}

/** The account ids an event names (from, to). */
export function accountsOf(e: { from: string; to: string }): string[] {
  return [e.from, e.to].flatMap((a) => {
    const id = a ? accountIdOf(a) : undefined;
    return id ? [id] : [];
  });
}

export function intersect(a: Coverage, b: Coverage): Coverage {
  if (a === null) return b;
  if (b === null) return a;
  return new Set([...a].filter((id) => b.has(id)));
}

export function sameCoverage(a: Coverage, b: Coverage): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && [...a].every((id) => b.has(id));
}

/** The events that speak for accounts in `coverage` (every event not scoped to accounts included). */
export function within<E extends { kind: string; from: string; to: string }>(
  events: readonly E[],
  coverage: Coverage,
): E[] {
  if (coverage === null) return [...events];
  return events.filter((e) => !isAccountScoped(e.kind) || accountsOf(e).some((id) => coverage.has(id)));
}

/** False when an account-scoped event names no account the publication says it covers. */
export function coversItsEvents(a: ChainBlockAnnouncement): boolean {
  return within(a.events, coverageOf(a)).length === a.events.length;
}

/** The coverage as it enters a block's digest: sorted ids, or null for every account. */
export const coverageKey = (accounts: readonly string[] | undefined): string[] | null =>
  accounts ? [...new Set(accounts)].sort() : null;

/**
 * Login challenges, each bound to the request that asked for it by a nonce: the caller gets the
 * challenge text and its nonce, and hands the nonce back with the signature. A wallet may have several
 * outstanding challenges (asking for one never replaces another, so nobody can void someone else's
 * sign-in by asking for their wallet), each valid for a few minutes and usable once. Kept in memory
 * only, so no route, attribute or backup can ever expose them (the original kept them in a
 * world-readable attribute).
 */
import { randomUUID } from 'node:crypto';
import { DomainError } from '../../common/errors.ts';

export interface IssuedChallenge {
  /** What the wallet signs; it ends with the nonce. */
  text: string;
  nonce: string;
}

export interface ChallengeLimits {
  /** Outstanding challenges per wallet. */
  maxPerWallet: number;
  /** Outstanding challenges in all. */
  maxPending: number;
}

interface Pending {
  wallet: string;
  text: string;
  expiresAt: number;
  /** The client address that asked: it may replace its own oldest challenge when the wallet is full. */
  requester: string;
}

const DEFAULT_LIMITS: ChallengeLimits = { maxPerWallet: 16, maxPending: 100_000 };

export class ChallengeStore {
  /** nonce → challenge, in the order issued (which, with one TTL, is the order they expire in). */
  private readonly byNonce = new Map<string, Pending>();
  /** wallet (lower case) → its outstanding nonces, oldest first. */
  private readonly byWallet = new Map<string, Set<string>>();
  private readonly ttlMs: number;
  private readonly limits: ChallengeLimits;

  constructor(ttlMs = 5 * 60_000, limits: Partial<ChallengeLimits> = {}) {
    this.ttlMs = ttlMs;
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  get size(): number {
    return this.byNonce.size;
  }

  /**
   * A fresh challenge for `wallet`. Refused (`rate_limited`) when the wallet has its fill of live
   * challenges and none of them is the requester's own (then its oldest one makes room).
   */
  issue(wallet: string, requester: string, now = Date.now()): IssuedChallenge {
    this.sweep(now);
    const key = wallet.toLowerCase();
    const nonces = this.byWallet.get(key);
    if (nonces && nonces.size >= this.limits.maxPerWallet) {
      const own = [...nonces].find((nonce) => this.byNonce.get(nonce)?.requester === requester);
      if (own === undefined) {
        const max = this.limits.maxPerWallet;
        throw new DomainError(
          'rate_limited',
          'rate_limited',
          `wallet ${wallet} has ${max} outstanding challenges; sign one or wait for them to expire`,
          { wallet },
        );
      }
      this.remove(own);
    }
    // Still full of live challenges: drop the oldest rather than grow without bound.
    while (this.byNonce.size >= this.limits.maxPending) {
      const oldest = this.byNonce.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
    const nonce = randomUUID();
    const text = `Please sign this message with the private key for address ${wallet} to prove that you own it. ${nonce}`;
    this.byNonce.set(nonce, { wallet: key, text, expiresAt: now + this.ttlMs, requester });
    if (nonces) nonces.add(nonce);
    else this.byWallet.set(key, new Set([nonce]));
    return { text, nonce };
  }

  /** The live challenge of `wallet` with that nonce, without using it up. */
  peek(wallet: string, nonce: string, now = Date.now()): { text: string } | { error: 'missing' | 'expired' } {
    const entry = this.byNonce.get(nonce);
    if (!entry || entry.wallet !== wallet.toLowerCase()) return { error: 'missing' };
    if (entry.expiresAt <= now) {
      this.remove(nonce);
      return { error: 'expired' };
    }
    return { text: entry.text };
  }

  /**
   * Uses a challenge up: a signature over it can never be replayed. False when it was used meanwhile
   * (e.g. by a concurrent request with the same signature) or is not that wallet's.
   */
  consume(wallet: string, nonce: string): boolean {
    const entry = this.byNonce.get(nonce);
    if (!entry || entry.wallet !== wallet.toLowerCase()) return false;
    this.remove(nonce);
    return true;
  }

  /** Drops expired challenges: they are at the front, so this stops at the first live one. */
  private sweep(now: number): void {
    for (const [nonce, entry] of this.byNonce) {
      if (entry.expiresAt > now) break;
      this.remove(nonce);
    }
  }

  private remove(nonce: string): void {
    const entry = this.byNonce.get(nonce);
    if (!entry) return;
    this.byNonce.delete(nonce);
    const nonces = this.byWallet.get(entry.wallet);
    nonces?.delete(nonce);
    if (nonces?.size === 0) this.byWallet.delete(entry.wallet);
  }
}

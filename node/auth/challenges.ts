/**
 * Login challenges: one per wallet, valid for a few minutes, usable once. Kept in memory only, so no
 * route, attribute or backup can ever expose them (the original kept them in a world-readable attribute).
 */
import { randomUUID } from 'node:crypto';

interface Pending {
  text: string;
  expiresAt: number;
}

export class ChallengeStore {
  private readonly pending = new Map<string, Pending>();
  private readonly ttlMs: number;
  private readonly maxPending: number;

  constructor(ttlMs = 5 * 60_000, maxPending = 100_000) {
    this.ttlMs = ttlMs;
    this.maxPending = maxPending;
  }

  /** A fresh challenge for `wallet`, replacing any earlier one. */
  issue(wallet: string, now = Date.now()): string {
    if (this.pending.size >= this.maxPending) this.sweep(now);
    const text = `Please sign this message with the private key for address ${wallet} to prove that you own it. ${randomUUID()}`;
    this.pending.set(wallet.toLowerCase(), { text, expiresAt: now + this.ttlMs });
    return text;
  }

  /** The live challenge of a wallet, without using it up. */
  peek(wallet: string, now = Date.now()): { text: string } | { error: 'missing' | 'expired' } {
    const entry = this.pending.get(wallet.toLowerCase());
    if (!entry) return { error: 'missing' };
    if (entry.expiresAt <= now) {
      this.pending.delete(wallet.toLowerCase());
      return { error: 'expired' };
    }
    return { text: entry.text };
  }

  /**
   * Uses a challenge up: a signature over it can never be replayed. With `text`, only if that challenge
   * is still the live one; false when it was used (or replaced) meanwhile, e.g. by a concurrent request.
   */
  consume(wallet: string, text?: string): boolean {
    const k = wallet.toLowerCase();
    if (text !== undefined && this.pending.get(k)?.text !== text) return false;
    return this.pending.delete(k);
  }

  private sweep(now: number): void {
    for (const [wallet, entry] of this.pending) if (entry.expiresAt <= now) this.pending.delete(wallet);
    // Still full of live challenges: drop the oldest rather than grow without bound.
    for (const wallet of this.pending.keys()) {
      if (this.pending.size < this.maxPending) break;
      this.pending.delete(wallet);
    }
  }
}

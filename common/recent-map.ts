/**
 * A map that keeps at most `max` entries, dropping the least recently touched: for state kept per peer
 * or per sender that anyone can make more of (a peer id costs nothing to make), so that memory stays
 * bounded while the ones active lately keep theirs.
 */
export class RecentMap<K, V> {
  private readonly max: number;
  /** In the order last touched: a Map iterates in insertion order, so the first key is the stalest. */
  private readonly entries = new Map<K, V>();

  constructor(max: number) {
    this.max = max;
  }

  /** The entry, if held; reading does not make it recent. */
  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** The entry for `key` (made by `make` when absent), now the most recent; the stalest goes past `max`. */
  touch(key: K, make: () => V): V {
    const value = this.entries.get(key) ?? make();
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) {
      const stalest = this.entries.keys().next().value as K;
      this.entries.delete(stalest);
    }
    return value;
  }

  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * At most one go per key every `intervalMs`: what the federation does for a peer's message that costs far
 * more than the message (a world sync, a mirror attempt) is not redone for every such message. Keys whose
 * interval is over are forgotten once `maxKeys` are held, so memory stays bounded by what one interval
 * can mark.
 */
export class Cooldown {
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  private readonly marked = new Map<string, number>();

  constructor(intervalMs: number, maxKeys: number) {
    this.intervalMs = intervalMs;
    this.maxKeys = maxKeys;
  }

  /** True when `key` was not marked within the interval. */
  ready(key: string, now = Date.now()): boolean {
    const at = this.marked.get(key);
    if (at === undefined) return true;
    if (now - at < this.intervalMs) return false;
    this.marked.delete(key);
    return true;
  }

  mark(key: string, now = Date.now()): void {
    if (this.marked.size >= this.maxKeys) {
      for (const [k, at] of this.marked) if (now - at >= this.intervalMs) this.marked.delete(k);
    }
    this.marked.set(key, now);
  }

  /** `ready`, and if so marked now. */
  take(key: string, now = Date.now()): boolean {
    if (!this.ready(key, now)) return false;
    this.mark(key, now);
    return true;
  }
}

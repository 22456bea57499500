/**
 * Imports vs garbage collection. Helia's GC deletes every block that no pin covers, and an import pins
 * its DAG only once the whole file is in; so a GC running during an import would delete the blocks
 * written so far. Imports share the gate; a GC holds it alone, waiting for running imports to end and
 * holding new ones back until it is done.
 */
export class ImportGate {
  private active = 0;
  private exclusiveRun: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];

  /** Enter as an import; call `leave` when done. */
  async enter(): Promise<void> {
    while (this.exclusiveRun) await this.exclusiveRun;
    this.active++;
  }

  leave(): void {
    this.active--;
    if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Runs `fn` with no import in flight. Exclusive runs are serialised. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusiveRun) await this.exclusiveRun;
    let release = () => {};
    this.exclusiveRun = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      while (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      return await fn();
    } finally {
      this.exclusiveRun = undefined;
      release();
    }
  }
}

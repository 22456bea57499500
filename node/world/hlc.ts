/**
 * Hybrid logical clock. A stamp is fixed-width text — wall time (ms, 12 hex digits), counter (4 hex
 * digits), node id — so stamps compare with plain string comparison, and equal times are ordered by node id.
 */
export type Stamp = string;

/** Sorts before every real stamp: the stamp of a field that was never written. */
export const ZERO_STAMP: Stamp = '000000000000:0000:';

export class HybridClock {
  private wall = 0;
  private counter = 0;
  readonly nodeId: string;
  private readonly clock: () => number;

  constructor(nodeId: string, clock: () => number = Date.now) {
    if (nodeId.includes(':')) throw new Error(`node id may not contain ':' (${nodeId})`);
    this.nodeId = nodeId;
    this.clock = clock;
  }

  /** A stamp later than every stamp this clock has issued or observed. */
  now(): Stamp {
    const physical = this.clock();
    if (physical > this.wall) {
      this.wall = physical;
      this.counter = 0;
    } else {
      this.counter++;
      if (this.counter > 0xffff) {
        this.wall++;
        this.counter = 0;
      }
    }
    return format(this.wall, this.counter, this.nodeId);
  }

  /** Moves the clock past a stamp received from elsewhere, so our next stamp orders after it. */
  observe(stamp: Stamp): void {
    const parsed = parseStamp(stamp);
    if (!parsed) return;
    if (parsed.wall > this.wall || (parsed.wall === this.wall && parsed.counter > this.counter)) {
      this.wall = parsed.wall;
      this.counter = parsed.counter;
    }
  }
}

function format(wall: number, counter: number, nodeId: string): Stamp {
  return `${wall.toString(16).padStart(12, '0')}:${counter.toString(16).padStart(4, '0')}:${nodeId}`;
}

const STAMP = /^([0-9a-f]{12}):([0-9a-f]{4}):(.*)$/;

export function parseStamp(stamp: Stamp): { wall: number; counter: number; nodeId: string } | undefined {
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  return { wall: Number.parseInt(m[1], 16), counter: Number.parseInt(m[2], 16), nodeId: m[3] };
}

export function isStamp(value: unknown): value is Stamp {
  return typeof value === 'string' && STAMP.test(value);
}

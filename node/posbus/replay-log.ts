/**
 * The reliable frames a resumable session sent, numbered, the most recent kept up to a byte bound: on a
 * resume the client says how many it received and gets the rest, or a snapshot when they are gone.
 */
import { isPositionFrame } from '../../protocol/posbus/index.ts';

/** What a dropped slot holds until the array is compacted. */
const DROPPED = new Uint8Array(0);

export class ReplayLog {
  private readonly maxBytes: number;
  private readonly frames: Uint8Array[] = [];
  /** Index into `frames` of the oldest kept frame (shifting an array per frame would be O(n)). */
  private head = 0;
  private bytes = 0;
  /** Reliable frames sent since the session began. */
  sent = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Numbers and keeps a frame about to be sent; position frames are neither (they are never replayed). */
  record(frame: Uint8Array): void {
    if (isPositionFrame(frame)) return;
    this.sent++;
    this.frames.push(frame);
    this.bytes += frame.length;
    while (this.bytes > this.maxBytes && this.head < this.frames.length) {
      this.bytes -= this.frames[this.head].length;
      // Let go of the dropped frame now: until the splice below, up to 1024 of them would stay
      // referenced, whatever their size (a teleport storm re-sends a world's entry stream each time).
      this.frames[this.head] = DROPPED;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The frames after the first `received`, or undefined when some of them are no longer kept (or `received` is impossible). */
  since(received: number): Uint8Array[] | undefined {
    if (received > this.sent) return undefined;
    const kept = this.frames.length - this.head;
    const missed = this.sent - received;
    if (missed > kept) return undefined;
    return this.frames.slice(this.frames.length - missed);
  }
}

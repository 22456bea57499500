/**
 * Frames a client sends right behind its HandShake, before the handshake is verified: they wait here,
 * bounded like any unauthenticated input (a few normal-sized frames), and run in order once the user is
 * known. A version-2 handshake also reads its SessionRequest from here.
 */
import type { EarlyFrame } from './session-resume.ts';

/** Frames a client may send behind its HandShake before the handshake is verified. */
const MAX_FRAMES = 8;

export class EarlyFrames {
  private readonly frames: EarlyFrame[] = [];
  private readonly maxFrameBytes: number;
  private arrived: (() => void) | undefined;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Holds a frame of `bytes`; false (nothing held) past the bound, and the client is to be refused. */
  push(frame: EarlyFrame, bytes: number): boolean {
    if (this.frames.length >= MAX_FRAMES || bytes > this.maxFrameBytes) return false;
    this.frames.push(frame);
    this.arrived?.();
    return true;
  }

  /** The next frame, waiting for it while `open()` holds; throws `closed()` once it does not. */
  async next(open: () => boolean, closed: () => Error): Promise<EarlyFrame> {
    while (!this.frames.length) {
      if (!open()) throw closed();
      await new Promise<void>((resolve) => {
        this.arrived = resolve;
      });
      this.arrived = undefined;
    }
    return this.frames.shift() as EarlyFrame;
  }

  /** The socket closed: a `next` waiting for a frame looks again (and gives up) now. */
  wake(): void {
    this.arrived?.();
  }

  /** Every frame held, in order; none is held after. */
  takeAll(): EarlyFrame[] {
    return this.frames.splice(0);
  }
}

/**
 * The resume replay log's memory bound (node/posbus/replay-log.ts): frames that fell out of the kept window
 * must be let go of, or a client that makes the node send many large reliable frames (a teleport storm:
 * each teleport re-sends the world's entry stream) holds far more than --resume-replay-bytes.
 * The class under test is pure; the garbage collector is the real one.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ReplayLog } from '../../node/posbus/replay-log.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A reliable (non-position) frame of `size` bytes: any type id but the two position frames'. */
function reliableFrame(size: number): Uint8Array {
  const frame = new Uint8Array(size).fill(0x11);
  frame.set([0x01, 0x02, 0x03, 0x04], 0);
  frame.set([0xfe, 0xfd, 0xfc, 0xfb], size - 4);
  return frame;
}

describe('ReplayLog', () => {
  it('holds about its byte bound, not the frames it dropped', async () => {
    const frameBytes = 64 * 1024;
    const log = new ReplayLog(2 * frameBytes);
    // Each recorded frame's memory, watched by a weak reference: what the log lets go of is collected. (Not
    // the process's arrayBuffers total: other files' sockets in this worker allocate buffers meanwhile.)
    const recorded: WeakRef<ArrayBufferLike>[] = [];
    for (let i = 0; i < 1000; i++) {
      const frame = reliableFrame(frameBytes);
      recorded.push(new WeakRef(frame.buffer));
      log.record(frame);
    }
    // Targets of weak references made in this job stay alive until it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const held = recorded.filter((r) => r.deref() !== undefined).length * frameBytes;
    // Two frames kept (128 KiB); 1000 were recorded (62.5 MiB). Allow slack as before (8 MiB).
    expect(held).toBeLessThan(8 * 1024 * 1024);
    // What it keeps is still replayable.
    expect(log.sent).toBe(1000);
    expect(log.since(998)?.length).toBe(2);
    expect(log.since(997)).toBeUndefined();
  });
});

/**
 * A tick's position frame goes to every member who sees its cell. A server's WebSocket frames are not
 * masked (RFC 6455 §5.3), so every socket gets the same bytes: the frame is built once, header and
 * payload in one buffer, and written to each socket as it is. Through `ws.send` each send built its own
 * header and options and left as two buffers through `writev` (docs/benchmarks.md, "Fan-out").
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** FIN and the binary opcode: one whole binary message per frame. */
const FIN_BINARY = 0x82;

/** The frames built this tick, by payload: gone with their payloads, which the tick drops. */
const built = new WeakMap<Uint8Array, Buffer>();

/** `payload` as one unmasked, unfragmented binary WebSocket frame, built once per payload. */
export function sharedFrame(payload: Uint8Array): Buffer {
  const known = built.get(payload);
  if (known) return known;
  const n = payload.length;
  const headerBytes = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + n);
  frame[0] = FIN_BINARY;
  if (n < 126) {
    frame[1] = n;
  } else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  frame.set(payload, headerBytes);
  built.set(payload, frame);
  return frame;
}

/** What of `ws`'s internals a direct write relies on (ws has no public access to them). */
interface WsInternals {
  _socket?: Socket;
  /** `_state` 0: neither compressing nor reading a Blob (the message in progress is not in `_queue`). */
  _sender?: { _queue?: unknown[]; _state?: number };
}

/**
 * The socket under `ws` if a frame may be written to it directly, keeping the order of everything sent
 * through `ws`: ws's sender must be idle, nothing queued and nothing being compressed or read from a Blob.
 * PosBus neither negotiates compression nor sends Blobs, so it always is; should a version of ws keep
 * that state elsewhere, this answers undefined and the frame goes through `ws.send`.
 */
export function directSocket(ws: WebSocket): Socket | undefined {
  const internals = ws as unknown as WsInternals;
  const sender = internals._sender;
  // Either undefined (another version of ws keeps them elsewhere): not known to be idle.
  if (sender?._state !== 0 || sender._queue?.length !== 0) return undefined;
  return internals._socket;
}

/** The socket under `ws` (to cork it), while it has one. */
export function socketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as WsInternals)._socket;
}

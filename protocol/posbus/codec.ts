/**
 * Frames: 4-byte little-endian type id, MUS body, 4-byte little-endian bitwise NOT of the type id
 * (SPEC.md §2). Unlike the original, the body is `frame[4, n-4)` and must be consumed exactly.
 */
import { PosbusDecodeError } from './errors.ts';
import { type BodyCodec, codecs } from './messages.ts';
import { MusReader } from './reader.ts';
import type { Message, MessageType } from './types.ts';
import { MusWriter } from './writer.ts';

const byTypeId = new Map<number, BodyCodec<Message>>();
const typeNames = new Map<number, MessageType>();
for (const [name, c] of Object.entries(codecs) as [MessageType, BodyCodec<Message>][]) {
  byTypeId.set(c.typeId, c);
  typeNames.set(c.typeId, name);
}

/** The type id of each message type. */
export const TYPE_IDS: { readonly [K in MessageType]: number } = Object.fromEntries(
  Object.entries(codecs).map(([name, c]) => [name, c.typeId]),
) as { [K in MessageType]: number };

// One writer for the whole process: encoding is synchronous, so frames never interleave in it.
const writer = new MusWriter(64 * 1024);

/** Encodes one message as a complete frame in a buffer of its own. Throws PosbusEncodeError on an invalid field. */
export function encode(message: Message): Uint8Array {
  const c = codecs[message.type] as BodyCodec<Message> | undefined;
  if (!c) throw new TypeError(`posbus encode: unknown message type ${String(message.type)}`);
  const w = writer;
  w.reset();
  w.uint32le(c.typeId);
  try {
    c.write(w, message);
    w.uint32le(~c.typeId >>> 0);
    return w.take();
  } finally {
    // Do not keep a huge buffer around after a big (or failed) encode. This must run after take():
    // shrinking before it would drop the body written so far.
    if (w.buf.length > 1 << 20) w.buf = new Uint8Array(64 * 1024);
  }
}

/** The type id of a frame, or undefined when it is too short or its header and trailer disagree. */
export function frameTypeId(frame: Uint8Array): number | undefined {
  const n = frame.length;
  if (n < 8) return undefined;
  const head = (frame[0] | (frame[1] << 8) | (frame[2] << 16) | (frame[3] << 24)) >>> 0;
  const tail = (frame[n - 4] | (frame[n - 3] << 8) | (frame[n - 2] << 16) | (frame[n - 1] << 24)) >>> 0;
  return (head ^ tail) >>> 0 === 0xffffffff ? head : undefined;
}

/** The message type name of a type id, if it is one of SPEC.md's. */
export function typeNameOf(typeId: number): MessageType | undefined {
  return typeNames.get(typeId);
}

/** Decodes one frame. Throws only PosbusDecodeError. The result never shares memory with `frame`. */
export function decode(frame: Uint8Array): Message {
  const n = frame.length;
  if (n < 8) throw new PosbusDecodeError('frame-too-short', 0, `${n} bytes`);
  const typeId = frameTypeId(frame);
  if (typeId === undefined) throw new PosbusDecodeError('trailer-mismatch', n - 4);
  const c = byTypeId.get(typeId);
  if (!c) throw new PosbusDecodeError('unknown-type', 0, `0x${typeId.toString(16).padStart(8, '0')}`);
  const r = new MusReader(frame, 4, n - 4);
  const message = c.read(r);
  if (r.pos !== r.end) throw new PosbusDecodeError('trailing-bytes', r.pos, `${r.end - r.pos} bytes`);
  return message;
}

/**
 * The framing of a multipart body (RFC 2046 §5.1), fed chunk by chunk as it arrives: where parts
 * start and end, their header blocks, and their bytes. Pure and synchronous: `push` turns one chunk into
 * events, `end` says whether the body was complete.
 *
 * Speed is the point (it runs over every byte of an upload): the delimiter is found with the native
 * `Buffer.indexOf`, and a part's bytes are handed on as subarrays of the chunks they arrived in. Only
 * the few bytes at the end of a chunk that may begin a delimiter are copied and carried into the next
 * chunk; a delimiter can begin only at a CR (the boundary itself has none), so checking the carry against
 * the next chunk's start is all a straddling delimiter takes.
 */
import { invalid } from '../common/errors.ts';
import { type PartHeaders, parsePartHeaders } from './part-headers.ts';

export type MultipartEvent =
  | { kind: 'part'; headers: PartHeaders }
  | { kind: 'data'; bytes: Buffer }
  | { kind: 'partEnd' };

export interface FramingLimits {
  /** Bytes of one part's header block. */
  headerBytes: number;
  /** Bytes before the first boundary and after the closing one (both are ignored, up to this). */
  framingBytes: number;
}

const CR = 13;
const LF = 10;
const DASH = 45;
const CRLF = Buffer.from('\r\n');
const CRLF_CRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
/** Spaces and tabs allowed between a boundary and its line break ("transport padding"). */
const MAX_PADDING = 64;

const State = { Preamble: 0, Body: 1, AfterDelimiter: 2, Headers: 3, Epilogue: 4 } as const;
type State = (typeof State)[keyof typeof State];

const malformed = (why: string) => invalid('malformed_multipart', `bad multipart body: ${why}`);

export class MultipartParser {
  /** `CRLF--boundary`: what ends a part's bytes. */
  private readonly delimiter: Buffer;
  private readonly limits: FramingLimits;
  private state: State = State.Preamble;
  /**
   * The end of the previous chunk that may be the start of a delimiter (always shorter than one). It
   * starts as a CRLF, so that a body opening with `--boundary` (no preamble) is found like any other.
   */
  private carry: Buffer = CRLF;
  /** The bytes of a header block or boundary line seen so far, when they straddle chunks. */
  private pending: Buffer = EMPTY;
  private framing = 0;
  private events: MultipartEvent[] = [];

  constructor(boundary: string, limits: FramingLimits) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.limits = limits;
  }

  /**
   * The events of one more chunk of the body, in order; throws a DomainError (400, malformed_multipart)
   * as soon as the framing is wrong. Data events are subarrays of `chunk`: the chunk must not be
   * reused before they are read.
   */
  push(chunk: Buffer): MultipartEvent[] {
    this.events = [];
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case State.Preamble:
        case State.Body:
          at = this.scan(chunk, at);
          break;
        case State.AfterDelimiter:
          at = this.afterDelimiter(chunk, at);
          break;
        case State.Headers:
          at = this.headers(chunk, at);
          break;
        case State.Epilogue:
          this.addFraming(chunk.length - at, 'after the closing boundary');
          at = chunk.length;
          break;
      }
    }
    return this.events;
  }

  /** Throws when the body ended before its closing delimiter. */
  end(): void {
    if (this.state !== State.Epilogue) {
      throw invalid('malformed_multipart', 'the multipart body ends early (no closing boundary)');
    }
  }

  /** Part bytes (or preamble) from `at` up to a delimiter or the end of the chunk. */
  private scan(chunk: Buffer, at: number): number {
    const delimiter = this.delimiter;
    if (this.carry.length > 0) {
      const carried = this.carry;
      const needed = delimiter.length - carried.length;
      const available = chunk.length - at;
      const next = chunk.subarray(at, at + Math.min(needed, available));
      if (next.equals(delimiter.subarray(carried.length, carried.length + next.length))) {
        if (next.length === needed) {
          this.carry = EMPTY;
          this.delimiterFound();
          return at + needed;
        }
        // Still only the start of a delimiter: a tiny chunk.
        this.carry = Buffer.concat([carried, next]);
        return chunk.length;
      }
      // Not a delimiter; no other can begin inside the carry (only its first byte is a CR).
      this.carry = EMPTY;
      this.data(carried, 0, carried.length);
    }
    const found = chunk.indexOf(delimiter, at);
    if (found >= 0) {
      this.data(chunk, at, found);
      this.delimiterFound();
      return found + delimiter.length;
    }
    // The chunk's last bytes may begin a delimiter: keep them back (a copy, shorter than a delimiter).
    let tail = chunk.indexOf(CR, Math.max(at, chunk.length - delimiter.length + 1));
    while (tail >= 0 && !chunk.subarray(tail).equals(delimiter.subarray(0, chunk.length - tail))) {
      tail = chunk.indexOf(CR, tail + 1);
    }
    const end = tail >= 0 ? tail : chunk.length;
    this.data(chunk, at, end);
    if (tail >= 0) this.carry = Buffer.from(chunk.subarray(tail));
    return chunk.length;
  }

  private data(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    if (this.state === State.Body) this.events.push({ kind: 'data', bytes: chunk.subarray(start, end) });
    else this.addFraming(end - start, 'before the first boundary');
  }

  private delimiterFound(): void {
    if (this.state === State.Body) this.events.push({ kind: 'partEnd' });
    this.state = State.AfterDelimiter;
    this.pending = EMPTY;
  }

  private addFraming(bytes: number, where: string): void {
    this.framing += bytes;
    if (this.framing > this.limits.framingBytes) {
      throw malformed(`more than ${this.limits.framingBytes} bytes ${where}`);
    }
  }

  /**
   * After a delimiter: `--` closes the body; otherwise optional padding and a CRLF start a part's
   * headers. Anything else means the body is not what its boundary says (or uses bare LF lines).
   */
  private afterDelimiter(chunk: Buffer, at: number): number {
    const seen = this.pending.length;
    const line = this.accumulate(chunk, at, 2 + MAX_PADDING);
    if (line[0] === DASH) {
      if (line.length < 2) return chunk.length;
      if (line[1] !== DASH) throw malformed('a boundary is followed by something other than a line break');
      this.state = State.Epilogue;
      this.framing = 0;
      return at + 2 - seen;
    }
    let i = 0;
    while (i < line.length && (line[i] === 32 || line[i] === 9)) i++;
    if (i > MAX_PADDING) throw malformed('too much padding after a boundary');
    if (i + 1 >= line.length) {
      if (i < line.length && line[i] !== CR) {
        throw malformed('a boundary is followed by something other than a line break');
      }
      return chunk.length; // the line break is still to come
    }
    if (line[i] !== CR || line[i + 1] !== LF) {
      throw malformed('a boundary is followed by something other than a line break');
    }
    this.state = State.Headers;
    this.pending = EMPTY;
    return at + i + 2 - seen;
  }

  /** A part's header block, up to and including the empty line that ends it. */
  private headers(chunk: Buffer, at: number): number {
    const max = this.limits.headerBytes;
    const seen = this.pending.length;
    if (seen === 0 && chunk.length - at >= 2 && chunk[at] === CR && chunk[at + 1] === LF) {
      return this.partStarts(EMPTY, at + 2); // no headers at all (refused by the header check)
    }
    if (seen === 0) {
      // Usually the whole block is in this chunk: find its end there, copying nothing.
      const end = chunk.indexOf(CRLF_CRLF, at);
      if (end >= 0 && end - at <= max) return this.partStarts(chunk.subarray(at, end), end + 4);
      if (end >= 0 || chunk.length - at > max + 3) throw malformed(`part headers over ${max} bytes`);
    }
    const block = this.accumulate(chunk, at, max + 4);
    if (block.length >= 2 && block[0] === CR && block[1] === LF) return this.partStarts(EMPTY, at + 2 - seen);
    const end = block.indexOf(CRLF_CRLF, Math.max(0, seen - 3));
    if (end >= 0 && end <= max) return this.partStarts(block.subarray(0, end), at + end + 4 - seen);
    if (block.length >= max + 4) throw malformed(`part headers over ${max} bytes`);
    return chunk.length;
  }

  private partStarts(block: Buffer, next: number): number {
    this.events.push({ kind: 'part', headers: parsePartHeaders(block) });
    this.state = State.Body;
    this.pending = EMPTY;
    return next;
  }

  /** `pending` with up to `max` bytes in all from the chunk (a copy: only framing goes through here). */
  private accumulate(chunk: Buffer, at: number, max: number): Buffer {
    const take = chunk.subarray(at, at + Math.max(0, max - this.pending.length));
    this.pending = this.pending.length === 0 ? Buffer.from(take) : Buffer.concat([this.pending, take]);
    return this.pending;
  }
}

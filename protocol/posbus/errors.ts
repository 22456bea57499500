/** Why a frame could not be decoded. Stable strings: tests and logs match on them. */
export type PosbusDecodeReason =
  | 'frame-too-short'
  | 'trailer-mismatch'
  | 'unknown-type'
  | 'truncated'
  | 'varint-overflow'
  | 'negative-length'
  | 'int-out-of-range'
  | 'bad-byte'
  | 'unknown-any-type'
  | 'too-deep'
  | 'trailing-bytes'
  /** Compact position stream (compact.ts): an update for a short id no mapping introduced, a reserved mask bit, a remapped id, a value out of range. */
  | 'bad-record';

/** The only error `decode` ever throws: the reason and the byte offset in the frame where it was found. */
export class PosbusDecodeError extends Error {
  override readonly name = 'PosbusDecodeError';
  readonly reason: PosbusDecodeReason;
  readonly offset: number;

  constructor(reason: PosbusDecodeReason, offset: number, detail?: string) {
    super(`posbus decode: ${reason} at byte ${offset}${detail ? ` (${detail})` : ''}`);
    this.reason = reason;
    this.offset = offset;
  }
}

/** Thrown by `encode` when a message holds a value its wire type cannot carry (a malformed UMID, a float where an int belongs…). */
export class PosbusEncodeError extends Error {
  override readonly name = 'PosbusEncodeError';
  readonly field: string;

  constructor(field: string, detail: string) {
    super(`posbus encode: ${field}: ${detail}`);
    this.field = field;
  }
}

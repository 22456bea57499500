/**
 * The one error a refusal is thrown as, from storage up to the routes: what kind of refusal it is (which
 * the HTTP layer turns into a status, in one place: api/errors.ts), the original's `reason` string that
 * clients match on, and a message for people. It lives here, importing nothing of ours, so that every
 * layer (storage, node, api) can throw it without importing a layer above itself.
 */

/**
 * Kinds of refusal, each answered with one HTTP status (see api/errors.ts). A refusal the original answered
 * with a status other than its kind's natural one takes the kind of that status, so that clients see the
 * same answers (e.g. an already attached wallet is `invalid`, a 400, not a conflict).
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'too_large'
  | 'unsupported'
  | 'rate_limited'
  /** Something this node waited for (a peer's blocks) did not come in time. */
  | 'timeout';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly kind: ErrorKind;
  /** The original's machine-readable reason, e.g. `object_not_found`: the wire's `error.reason`. */
  readonly reason: string;
  /** What the refusal was about (ids, limits), for logs and callers; never sent to the client. */
  readonly context: Readonly<Record<string, unknown>>;

  constructor(kind: ErrorKind, reason: string, message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.kind = kind;
    this.reason = reason;
    this.context = context;
  }
}

// The three refusals most services throw, named for reading at the throw site.
export const invalid = (reason: string, message: string) => new DomainError('invalid', reason, message);
export const forbidden = (reason: string, message: string) => new DomainError('forbidden', reason, message);
export const notFound = (reason: string, message: string) => new DomainError('not_found', reason, message);

/**
 * Refusals of the object service, transport-free: `kind` says which (the REST layer maps it to 400/403/404)
 * and `reason` is the original's snake_case code, e.g. `object_creation_not_permitted`.
 */
export type ObjectErrorKind = 'invalid' | 'forbidden' | 'not_found';

export class ObjectServiceError extends Error {
  override readonly name = 'ObjectServiceError';
  readonly kind: ObjectErrorKind;
  readonly reason: string;

  constructor(kind: ObjectErrorKind, reason: string, message: string) {
    super(message);
    this.kind = kind;
    this.reason = reason;
  }
}

export const refuse = (reason: string, message: string) =>
  new ObjectServiceError('forbidden', reason, message);
export const invalid = (reason: string, message: string) =>
  new ObjectServiceError('invalid', reason, message);
export const missing = (reason: string, message: string) =>
  new ObjectServiceError('not_found', reason, message);

/** A refusal of an attribute read or write, with the HTTP status and reason the REST API answers with. */
export class AttributeError extends Error {
  override readonly name = 'AttributeError';
  readonly status: 400 | 403 | 404;
  readonly reason: string;

  constructor(status: 400 | 403 | 404, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

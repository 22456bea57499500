/** Why an upload or a read was refused; the HTTP layer maps each code to a status. */
export type AssetErrorCode = 'too_large' | 'unsupported_type' | 'empty' | 'busy';

export class AssetError extends Error {
  override readonly name = 'AssetError';
  readonly code: AssetErrorCode;

  constructor(code: AssetErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Access tokens: HS256 JWTs signed with the node's secret, which is created on first start and kept in
 * the data dir (mode 0600). `sub` = user id, `iss` = the node's issuer name.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sign, verify } from 'hono/jwt';
import { DomainError } from '../../common/errors.ts';

export const TOKEN_ISSUER = 'odyssey-node';

/** Every token refusal has the original's one reason: the client cannot tell a forged token from a stale one. */
const refused = (message: string) =>
  new DomainError('unauthorized', 'failed_to_verify_access_token', message);

export interface TokenClaims {
  sub: string;
  iss: string;
  iat: number;
  exp: number;
}

export class TokenService {
  private readonly secret: string;
  private readonly ttlSeconds: number;

  constructor(secret: string, ttlSeconds: number) {
    this.secret = secret;
    this.ttlSeconds = ttlSeconds;
  }

  /** Loads the node secret from `dataDir/node-secret`, creating it on first start. */
  static async open(dataDir: string, ttlSeconds: number): Promise<TokenService> {
    const path = join(dataDir, 'node-secret');
    let secret: string;
    try {
      secret = (await readFile(path, 'utf8')).trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      secret = randomBytes(32).toString('base64url');
      await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    }
    await chmod(path, 0o600);
    if (secret.length < 32) throw new Error(`${path} holds a secret shorter than 32 characters`);
    return new TokenService(secret, ttlSeconds);
  }

  issue(userId: string): Promise<string> {
    const iat = Math.floor(Date.now() / 1000);
    return sign({ sub: userId, iss: TOKEN_ISSUER, iat, exp: iat + this.ttlSeconds }, this.secret, 'HS256');
  }

  /** The claims of a valid token; refuses (`unauthorized`) a bad signature, a wrong issuer or an expired token. */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const claims = await verify(token, this.secret, { alg: 'HS256', iss: TOKEN_ISSUER });
      if (typeof claims.sub !== 'string') throw refused('token has no subject');
      return claims as unknown as TokenClaims;
    } catch (e) {
      if (e instanceof DomainError) throw e;
      throw refused(`invalid token: ${(e as Error).name}`);
    }
  }
}

/**
 * Unknown /api/v4 paths answer 404 (the original error shape) before the token check, so a typo does not
 * look like an auth failure; known paths keep their auth (401 without a token), whatever the method.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guest, startNode, type TestNode } from '../support/node.ts';

describe('unknown API paths', () => {
  let t: TestNode;
  let token: string;
  beforeAll(async () => {
    t = await startNode();
    token = (await guest(t)).token;
  });
  afterAll(() => t?.cleanup());

  const call = async (method: string, path: string, withToken = false) => {
    const res = await fetch(`${t.url}/api/v4${path}`, {
      method,
      headers: withToken ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.status, body: (await res.json()) as { error?: { reason: string } } };
  };

  it('are 404 not_found with or without a token', async () => {
    for (const [method, path] of [
      ['GET', '/wolrds'],
      ['GET', '/users/me/typo/deeper'],
      ['POST', '/objects/x/y/z/w'],
      ['DELETE', '/nope'],
      ['GET', '/'],
    ]) {
      for (const withToken of [false, true]) {
        const { status, body } = await call(method, path, withToken);
        expect([status, body], `${method} ${path} token=${withToken}`).toEqual([
          404,
          { error: { reason: 'not_found', message: `no route for ${method} /api/v4${path}` } },
        ]);
      }
    }
  });

  it('known paths still need a token, also under a method they do not have', async () => {
    for (const [method, path] of [
      ['GET', '/users/me'],
      ['PATCH', '/users/me'],
      ['GET', '/worlds/5e1f0d2c-7a41-4c39-9b1e-0d0000000001'],
      ['PUT', '/worlds/5e1f0d2c-7a41-4c39-9b1e-0d0000000001'],
    ]) {
      const { status, body } = await call(method, path);
      expect([status, body.error?.reason], `${method} ${path}`).toEqual([
        401,
        'failed_to_verify_access_token',
      ]);
    }
    // With a token, the known path under a method it lacks is 404 as before.
    expect((await call('PATCH', '/users/me', true)).status).toBe(404);
  });
});

/**
 * The client address behind a reverse proxy: `--trust-proxy` off (a forged X-Forwarded-For changes
 * nothing), a CIDR list (the rightmost address not in it) and a hop count, as the pure function sees
 * them and as the auth rate limit of a real node does.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../node/config.ts';
import {
  clientAddress,
  isTrustedProxy,
  normalizeAddress,
  parseTrustProxy,
  TrustProxyError,
} from '../../node/http/client-address.ts';
import { reason } from '../support/http.ts';
import { startNode, type TestNode } from '../support/node.ts';

describe('clientAddress', () => {
  it('ignores X-Forwarded-For unless a proxy is trusted', () => {
    const off = parseTrustProxy('');
    expect(clientAddress(off, '::ffff:127.0.0.1', '1.2.3.4')).toBe('127.0.0.1');
    expect(isTrustedProxy(off, '127.0.0.1')).toBe(false);
  });

  it('takes the rightmost address outside the trusted networks, and only from a trusted peer', () => {
    const trust = parseTrustProxy('127.0.0.1/32, 10.0.0.0/8');
    // A client forging the left of the header still ends up as the address the proxy saw.
    expect(clientAddress(trust, '127.0.0.1', '6.6.6.6, 203.0.113.9')).toBe('203.0.113.9');
    expect(clientAddress(trust, '127.0.0.1', '203.0.113.9, 10.1.2.3')).toBe('203.0.113.9');
    expect(clientAddress(trust, '127.0.0.1', ['6.6.6.6', '203.0.113.9'])).toBe('203.0.113.9');
    // The header from a peer that is not a trusted proxy is anyone's word.
    expect(clientAddress(trust, '198.51.100.7', '203.0.113.9')).toBe('198.51.100.7');
    // Only proxies in the header: the leftmost of them; junk written by a proxy: the proxy.
    expect(clientAddress(trust, '127.0.0.1', '10.0.0.2, 10.0.0.1')).toBe('10.0.0.2');
    expect(clientAddress(trust, '127.0.0.1', 'not-an-address')).toBe('127.0.0.1');
    expect(clientAddress(trust, '127.0.0.1', undefined)).toBe('127.0.0.1');
    expect(clientAddress(trust, '127.0.0.1', '[2001:db8::1]:4711, 203.0.113.9:5000')).toBe('203.0.113.9');
  });

  it('counts hops from the right', () => {
    expect(clientAddress(parseTrustProxy('1'), '127.0.0.1', '6.6.6.6, 203.0.113.9')).toBe('203.0.113.9');
    expect(clientAddress(parseTrustProxy('2'), '127.0.0.1', '6.6.6.6, 203.0.113.9')).toBe('6.6.6.6');
    expect(clientAddress(parseTrustProxy('3'), '127.0.0.1', '203.0.113.9')).toBe('203.0.113.9');
    expect(isTrustedProxy(parseTrustProxy('1'), '198.51.100.7')).toBe(true);
  });

  it('normalises addresses and refuses bad specs with the spec named', () => {
    expect(normalizeAddress('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(normalizeAddress('example.com')).toBeUndefined();
    for (const spec of ['11', '10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '::1/129', '10.0.0.0/x']) {
      expect(() => parseTrustProxy(spec), spec).toThrow(TrustProxyError);
    }
    expect(parseTrustProxy('off').mode).toBe('off');
    expect(parseTrustProxy('0').mode).toBe('off');
    expect(() => loadConfig({ flags: { trustProxy: '10.0.0.0/99' } })).toThrow(
      /invalid config key trustProxy \(from flag --trust-proxy\)/,
    );
    expect(() => loadConfig({ flags: { trustProxy: 'nonsense' } })).toThrow(ConfigError);
    expect(loadConfig({ env: { ODYSSEY_TRUST_PROXY: '1' } }).trustProxy).toBe('1');
  });
});

describe('the auth rate limit behind a proxy', () => {
  const guestTokenAs = (node: TestNode, forwardedFor?: string) =>
    fetch(`${node.url}/api/v4/auth/guest-token`, {
      method: 'POST',
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    }).then(async (res) => ({ status: res.status, body: await res.json() }));

  it('with no proxy trusted, a forged X-Forwarded-For does not dodge the limit', async () => {
    const node = await startNode({ authRequestsPerMinute: 2 });
    try {
      expect((await guestTokenAs(node, '203.0.113.1')).status).toBe(200);
      expect((await guestTokenAs(node, '203.0.113.2')).status).toBe(200);
      const limited = await guestTokenAs(node, '203.0.113.3');
      expect(limited.status).toBe(429);
      expect(reason(limited)).toBe('rate_limited');
    } finally {
      await node.cleanup();
    }
  });

  for (const trustProxy of ['127.0.0.1/32', '1']) {
    it(`with --trust-proxy ${trustProxy}, each forwarded client has a bucket of its own`, async () => {
      const node = await startNode({ authRequestsPerMinute: 2, trustProxy });
      try {
        for (const client of ['203.0.113.1', '203.0.113.2']) {
          expect((await guestTokenAs(node, client)).status).toBe(200);
          expect((await guestTokenAs(node, client)).status).toBe(200);
        }
        expect((await guestTokenAs(node, '203.0.113.1')).status).toBe(429);
        // A client prepending a forged address is still the address the proxy saw.
        expect((await guestTokenAs(node, '198.51.100.50, 203.0.113.2')).status).toBe(429);
        // The proxy's own requests (no header) are a client of their own.
        expect((await guestTokenAs(node)).status).toBe(200);
      } finally {
        await node.cleanup();
      }
    });
  }
});

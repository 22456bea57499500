/**
 * Who the client is: the one place that turns a TCP peer (and, behind a trusted reverse proxy, its
 * `X-Forwarded-For`) into the client address that rate limits and sign-in challenges are keyed by.
 *
 * `--trust-proxy` is off by default: the header is then ignored, since anyone can send it. With a hop
 * count N, the node's peer and the N-1 proxies before it are trusted and the client is the Nth address
 * from the right of `X-Forwarded-For` + peer. With a CIDR list, the header counts only when the peer is
 * in the list, and the client is the rightmost address not in it (what a trusted proxy saw connecting).
 */
import { BlockList, isIP } from 'node:net';

export type TrustProxy =
  | { readonly mode: 'off' }
  | { readonly mode: 'hops'; readonly hops: number }
  | { readonly mode: 'cidrs'; readonly list: BlockList };

export const TRUST_NOBODY: TrustProxy = { mode: 'off' };

export class TrustProxyError extends Error {
  override readonly name = 'TrustProxyError';
  readonly spec: string;

  constructor(spec: string, message: string) {
    super(`trust-proxy ${JSON.stringify(spec)}: ${message}`);
    this.spec = spec;
  }
}

const MAX_HOPS = 10;

/** `''`/`off`/`0` → off; `2` → two hops; `127.0.0.1/32,10.0.0.0/8,::1` → those networks (a bare address is one host). */
export function parseTrustProxy(spec: string): TrustProxy {
  const text = spec.trim();
  if (text === '' || text === 'off' || text === 'false' || text === '0') return TRUST_NOBODY;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > MAX_HOPS) throw new TrustProxyError(spec, `a hop count is at most ${MAX_HOPS}`);
    return { mode: 'hops', hops };
  }
  const list = new BlockList();
  for (const entry of text.split(',').map((s) => s.trim())) {
    const [address, prefixText, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    if (!family || rest.length > 0)
      throw new TrustProxyError(spec, `${JSON.stringify(entry)} is neither an address nor a CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const maxPrefix = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
    if (!/^\d+$/.test(prefixText ?? String(maxPrefix)) || prefix > maxPrefix)
      throw new TrustProxyError(spec, `${JSON.stringify(entry)} has a bad prefix length (0 to ${maxPrefix})`);
    list.addSubnet(address, prefix, type);
  }
  return { mode: 'cidrs', list };
}

/**
 * An address as a plain IP (`::ffff:10.0.0.1` → `10.0.0.1`; a port or brackets some proxies add are
 * dropped), or undefined when it is not one.
 */
export function normalizeAddress(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let a = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1];
  else if (/^[\d.]+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(':'));
  if (a.toLowerCase().startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  return isIP(a) ? a.toLowerCase() : undefined;
}

function inList(list: BlockList, address: string): boolean {
  return list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Whether the TCP peer is a proxy the node was told to trust. Such a peer carries many clients, so
 * per-address connection caps do not apply to it (see README, "Behind a reverse proxy").
 */
export function isTrustedProxy(trust: TrustProxy, peer: string | undefined): boolean {
  if (trust.mode === 'off') return false;
  if (trust.mode === 'hops') return true;
  const address = normalizeAddress(peer);
  return address !== undefined && inList(trust.list, address);
}

/** The client's address; `unknown` only when the socket has none (it closed before we asked). */
export function clientAddress(
  trust: TrustProxy,
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
): string {
  const direct = normalizeAddress(peer) ?? peer ?? 'unknown';
  if (trust.mode === 'off' || !forwardedFor || !isTrustedProxy(trust, peer)) return direct;
  const forwarded = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // Right to left: each address was written by the hop after it; `trusted` is the last hop we believe.
  let trusted = direct;
  if (trust.mode === 'hops') {
    for (let i = 0; i < trust.hops && forwarded.length > 0; i++) {
      const next = normalizeAddress(forwarded.pop());
      // A trusted proxy wrote something that is not an address: stop at the proxy itself.
      if (next === undefined) return trusted;
      trusted = next;
    }
    return trusted;
  }
  while (forwarded.length > 0) {
    const next = normalizeAddress(forwarded.pop());
    if (next === undefined) return trusted;
    if (!inList(trust.list, next)) return next;
    trusted = next;
  }
  return trusted;
}

/**
 * The per-peer counters: peers listed in `--trust` are kept for good; everyone else (untrusted peers that
 * connect, any signer under `all`) only the most recently counted MAX_UNLISTED_PEERS. Pure bookkeeping,
 * tested on the class itself: crossing the bound through a real node would take over a thousand distinct
 * connections, which libp2p's inbound threshold (a few per second per address) spreads over minutes.
 */
import { describe, expect, it } from 'vitest';
import { MAX_UNLISTED_PEERS, Peers } from '../../node/federation/peers.ts';

const id = (i: number) => `peer-${i}`;

describe('peer counters', () => {
  it('keep only the most recently counted unlisted peers, and every listed one', () => {
    const peers = new Peers('listed-a,listed-b');
    peers.rejected('listed-a', 'not_allowed');
    peers.accepted('listed-b');
    for (let i = 0; i < MAX_UNLISTED_PEERS * 3; i++) peers.rejected(id(i), 'untrusted');
    const known = peers.known();
    expect(known).toHaveLength(MAX_UNLISTED_PEERS + 2);
    expect(known).toContain('listed-a');
    expect(known).toContain('listed-b');
    expect(known).not.toContain(id(0));
    expect(known).toContain(id(MAX_UNLISTED_PEERS * 3 - 1));
    expect(peers.stats('listed-a').reasons).toEqual({ not_allowed: 1 });
    expect(peers.stats('listed-b').received).toBe(1);
  });

  it('a peer counted again is the freshest, and outlives those counted before it', () => {
    const peers = new Peers('', 3);
    for (const p of ['a', 'b', 'c']) peers.rejected(p, 'untrusted');
    peers.rejected('a', 'untrusted');
    peers.rejected('d', 'untrusted');
    expect(peers.known().sort()).toEqual(['a', 'c', 'd']);
    expect(peers.stats('a').rejected).toBe(2);
    expect(peers.stats('b')).toMatchObject({ received: 0, rejected: 0, reasons: {} });
    // Reading a peer's counters makes no entry.
    expect(peers.known()).not.toContain('b');
  });

  it('under `all` the bound applies to every signer', () => {
    const peers = new Peers('all', 10);
    for (let i = 0; i < 100; i++) peers.accepted(id(i));
    expect(peers.isTrusted(id(0))).toBe(true);
    expect(peers.known()).toHaveLength(10);
    expect(peers.totals.accepted).toBe(100);
  });
});

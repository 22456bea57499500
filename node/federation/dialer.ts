/**
 * Keeps the operator's bootstrap peers connected: dials each, and dials again with backoff (1 s doubling
 * to 30 s) whenever the connection is down. Nothing else is ever dialled by the node on its own.
 */
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import type { Logger } from 'pino';
import type { P2pHost } from './p2p-host.ts';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

interface Target {
  address: Multiaddr;
  peer: PeerId;
  retryMs: number;
  timer?: NodeJS.Timeout;
  dialing: boolean;
}

export class BootstrapDialer {
  private readonly host: P2pHost;
  private readonly log: Logger;
  private readonly targets: Target[];
  private running = false;
  private readonly onDisconnect = (event: CustomEvent<PeerId>) => {
    for (const t of this.targets) if (t.peer.equals(event.detail)) this.schedule(t, FIRST_RETRY_MS);
  };

  /** `addresses`: multiaddrs that end in /p2p/<peer id> (checked by `parseBootstrap`). */
  constructor(components: { host: P2pHost; logger: Logger }, addresses: Multiaddr[]) {
    this.host = components.host;
    this.log = components.logger.child({ component: 'dialer' });
    this.targets = addresses.map((address) => ({
      address,
      peer: peerIdFromString(address.getComponents().findLast((c) => c.name === 'p2p')?.value ?? ''),
      retryMs: FIRST_RETRY_MS,
      dialing: false,
    }));
  }

  start(): void {
    this.running = true;
    this.host.addEventListener('peer:disconnect', this.onDisconnect);
    for (const t of this.targets) void this.dial(t);
  }

  stop(): void {
    this.running = false;
    this.host.removeEventListener('peer:disconnect', this.onDisconnect);
    for (const t of this.targets) clearTimeout(t.timer);
  }

  private schedule(target: Target, delayMs: number): void {
    if (!this.running || target.timer || target.dialing) return;
    target.timer = setTimeout(() => {
      target.timer = undefined;
      void this.dial(target);
    }, delayMs);
    target.timer.unref();
  }

  private async dial(target: Target): Promise<void> {
    if (!this.running || target.dialing) return;
    if (this.host.getConnections(target.peer).length) return;
    target.dialing = true;
    try {
      await this.host.dial(target.address, { signal: AbortSignal.timeout(10_000) });
      target.retryMs = FIRST_RETRY_MS;
      this.log.info({ peer: target.peer.toString() }, 'connected to bootstrap peer');
    } catch (error) {
      this.log.debug(
        { peer: target.peer.toString(), err: error, retryMs: target.retryMs },
        'bootstrap dial failed',
      );
      target.dialing = false;
      this.schedule(target, target.retryMs);
      target.retryMs = Math.min(target.retryMs * 2, MAX_RETRY_MS);
      return;
    }
    target.dialing = false;
  }
}

/** Comma-separated multiaddrs, each naming its peer; throws with the bad entry named. */
export function parseBootstrap(spec: string): Multiaddr[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((text) => {
      let address: Multiaddr;
      try {
        address = multiaddr(text);
      } catch (e) {
        throw new Error(`not a multiaddr: ${text} (${(e as Error).message})`);
      }
      const peer = address.getComponents().findLast((c) => c.name === 'p2p')?.value;
      if (!peer) throw new Error(`${text} does not end in /p2p/<peer id>`);
      peerIdFromString(peer);
      return address;
    });
}

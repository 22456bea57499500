/**
 * Bitswap only with trusted peers. Helia's bitswap takes the libp2p host as it is: it answers every
 * connected peer's wants and sends its own wants to every connected peer. It sees the host through this
 * view instead, which hides untrusted peers from it:
 *
 * - inbound bitswap streams from an untrusted peer are aborted before a byte is read. In bitswap both
 *   wants and blocks arrive on streams the sender opens, so an untrusted peer can neither ask this node
 *   for blocks nor deliver any to it;
 * - the protocol topology (who bitswap believes is connected) and `getConnections` leave untrusted peers
 *   out, so this node's wantlists (which name what it is looking for) go to trusted peers only.
 *
 * Everything else is the host itself. Blocks that do arrive are still checked against their CID's hash by
 * Helia, trusted sender or not.
 */
import type { Connection, Libp2p, PeerId, Stream, StreamHandler, Topology } from '@libp2p/interface';

export type PeerFilter = (peerId: string) => boolean;

export function trustedView(host: Libp2p, allow: PeerFilter): Libp2p {
  const trusted = (peer: PeerId) => allow(peer.toString());
  const overrides: Partial<Libp2p> = {
    handle: (protocols, handler, options) => {
      const gated: StreamHandler = (stream: Stream, connection: Connection) => {
        if (!trusted(connection.remotePeer)) {
          stream.abort(new Error('bitswap is only spoken with trusted peers'));
          return;
        }
        return handler(stream, connection);
      };
      return host.handle(protocols, gated, options);
    },
    register: (protocol: string, topology: Topology) =>
      host.register(protocol, {
        ...topology,
        onConnect: (peer, connection) => (trusted(peer) ? topology.onConnect?.(peer, connection) : undefined),
        onDisconnect: (peer) => (trusted(peer) ? topology.onDisconnect?.(peer) : undefined),
      }),
    getConnections: (peer?: PeerId) => host.getConnections(peer).filter((c) => trusted(c.remotePeer)),
  };
  return new Proxy(host, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof Libp2p];
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

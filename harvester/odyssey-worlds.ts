/**
 * What the harvester needs from the node when Odyssey NFTs change hands: the node's implementation
 * (node/world/odyssey-worlds.ts) makes the world whose id is the token's odyssey id exist exactly while the
 * NFT does. The harvester knows only this interface, never the controllers behind it.
 */

export interface OdysseyWorlds {
  /** Makes world `odysseyId` owned by `wallet`'s user, or removed when `wallet` is null. */
  reconcile(odysseyId: string, wallet: string | null, name: string): Promise<void>;
}

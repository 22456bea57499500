/**
 * What this node knows of the others: their latest announcement (URL, worlds held, people online), kept
 * until the node goes silent. Answers "who holds this world" for mirroring and teleports.
 */
import type { AnnouncedWorld, NodeAnnouncement } from '../../protocol/gossip/index.ts';

export interface KnownNode extends NodeAnnouncement {
  peerId: string;
  lastSeenAt: number;
}

export interface FederatedWorld extends AnnouncedWorld {
  /** Peer ids of the nodes that announced it. */
  nodes: string[];
}

export class NodeDirectory {
  private readonly nodes = new Map<string, KnownNode>();
  private readonly silenceMs: number;

  constructor(options: { silenceTimeoutMs: number }) {
    this.silenceMs = options.silenceTimeoutMs;
  }

  /** Records an announcement; true when it is the node's first since it was last unknown. */
  record(peerId: string, announcement: NodeAnnouncement, now: number): boolean {
    const known = this.live(now).some((n) => n.peerId === peerId);
    this.nodes.set(peerId, { ...announcement, peerId, lastSeenAt: now });
    return !known;
  }

  /** The sender's clock of the peer's latest announcement, while the peer is live here. */
  lastAt(peerId: string, now: number): number | undefined {
    const node = this.nodes.get(peerId);
    return node && now - node.lastSeenAt <= this.silenceMs ? node.at : undefined;
  }

  forget(peerId: string): void {
    this.nodes.delete(peerId);
  }

  /** Nodes heard from within the silence timeout (the others are dropped). */
  live(now = Date.now()): KnownNode[] {
    for (const [peerId, node] of this.nodes) {
      if (now - node.lastSeenAt > this.silenceMs) this.nodes.delete(peerId);
    }
    return [...this.nodes.values()];
  }

  holders(worldId: string): string[] {
    return this.live()
      .filter((n) => n.worlds.some((w) => w.id === worldId))
      .map((n) => n.peerId);
  }

  /** Every world some live node announced, with the nodes that hold it and the people online on them. */
  worlds(): FederatedWorld[] {
    const byId = new Map<string, FederatedWorld>();
    for (const node of this.live()) {
      for (const w of node.worlds) {
        const entry = byId.get(w.id);
        if (entry) {
          entry.nodes.push(node.peerId);
          entry.online += w.online;
        } else byId.set(w.id, { ...w, nodes: [node.peerId] });
      }
    }
    return [...byId.values()];
  }
}

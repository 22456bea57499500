/**
 * Per chain and peer: the disagreements this node found in the peer's publications and whether the
 * peer is distrusted for that chain. Kept in LevelDB so that a restart does not forgive a peer; only an
 * operator does (`trust`, behind the admin route).
 */
import type { Logger } from 'pino';
import type { ChainPeerRecord } from '../../storage/db/chain-records.ts';
import type { Database, Sublevel } from '../../storage/db/database.ts';
import { chainTables } from '../chain-store.ts';

export interface ChainPeerView extends ChainPeerRecord {
  peerId: string;
}

const key = (chainId: string, peerId: string) => `${chainId}!${peerId}`;

export class ChainPeerTrust {
  private readonly table: Sublevel<ChainPeerRecord>;
  private readonly log: Logger;
  private readonly records = new Map<string, ChainPeerRecord>();

  constructor(components: { db: Database; logger: Logger }) {
    this.table = chainTables(components.db).peers;
    this.log = components.logger;
  }

  async load(): Promise<void> {
    this.records.clear();
    for await (const [k, v] of this.table.iterator()) this.records.set(k, v);
  }

  isDistrusted(chainId: string, peerId: string): boolean {
    return this.records.get(key(chainId, peerId))?.distrusted === true;
  }

  /** Counts a wrong publication and distrusts the peer for the chain. */
  async disagreement(chainId: string, peerId: string, reason: string, block: number): Promise<void> {
    const k = key(chainId, peerId);
    const before = this.records.get(k);
    const record: ChainPeerRecord = {
      disagreements: (before?.disagreements ?? 0) + 1,
      distrusted: true,
      lastReason: reason,
      lastBlock: block,
      lastAt: Date.now(),
    };
    this.records.set(k, record);
    await this.table.put(k, record);
    this.log.warn(
      { chainId, peer: peerId, reason, block, disagreements: record.disagreements },
      'a peer published a block that disagrees with this node’s own reading; peer distrusted for the chain',
    );
  }

  /** An operator's decision: the peer counts again for the chain (its disagreements stay counted). */
  async trust(chainId: string, peerId: string): Promise<boolean> {
    const k = key(chainId, peerId);
    const before = this.records.get(k);
    if (!before) return false;
    const record = { ...before, distrusted: false };
    this.records.set(k, record);
    await this.table.put(k, record);
    this.log.info({ chainId, peer: peerId }, 'peer trusted again for the chain by an operator');
    return true;
  }

  of(chainId: string): ChainPeerView[] {
    const prefix = `${chainId}!`;
    return [...this.records]
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, r]) => ({ peerId: k.slice(prefix.length), ...r }));
  }
}

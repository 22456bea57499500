/**
 * What the harvester keeps in LevelDB (plain records; the harvester owns their meaning). Everything a
 * block changes — its events, the derived state, the undo entries and the checkpoint — is written in one
 * batch, so a crash never leaves half a block.
 */

/** Last block processed on a chain: where a restart resumes. */
export interface ChainCheckpointRecord {
  number: number;
  hash: string;
  updatedAt: number;
}

/** A processed block: its hash (for finding a common ancestor) and how to undo it (for rolling back). */
export interface ChainBlockRecord {
  number: number;
  hash: string;
  eventIds: string[];
  /** Derived-state keys this block changed, with the value before it (null = absent), in write order. */
  undo: [string, string | null][];
  processedAt: number;
}

/** A normalised chain event as stored; its full shape is the harvester's ChainEvent. */
export interface ChainEventRecord {
  id: string;
  chainId: string;
  blockNumber: number;
  kind: string;
  [field: string]: unknown;
}

/**
 * What a node that reads a chain itself found of one peer's publications on that chain: how often the
 * peer published a block that disagreed with its own reading, and whether it is distrusted for the chain
 * (until an operator trusts it again).
 */
export interface ChainPeerRecord {
  disagreements: number;
  distrusted: boolean;
  /** What was wrong the last time (`hash`, `events`, `link`), and at which block. */
  lastReason: string | null;
  lastBlock: number | null;
  lastAt: number | null;
}

/** A stake a client reported before the chain confirmed it (the original's `pending_stake` row). */
export interface PendingStakeRecord {
  /** The transaction hash (`0x` + 64 lowercase hex): the key. */
  transactionId: string;
  odysseyId: string;
  wallet: string;
  /** Decimal string (uint256). */
  amount: string;
  comment: string;
  /** Staking token: 0 MOM, 1 DAD. */
  kind: number;
  userId: string;
  createdAt: number;
}

/** The comment of the last confirmed stake, per world (`world!<id>`) and per stake (`stake!<wallet>!<id>`). */
export interface StakeCommentRecord {
  comment: string;
  wallet: string;
  transactionId: string;
  at: number;
}

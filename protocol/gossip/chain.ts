/**
 * The chain topic: a node that follows a chain through its own RPC publishes every block it processed
 * (number, hash, the events it derived state from) so that nodes without an RPC for that chain can apply
 * the same events once enough trusted peers agree (harvester/peers/peer-adapter.ts), and nodes with an RPC can
 * check the publishers (harvester/peers/peer-check.ts).
 *
 * `link` names the previous block the publisher processed that had events (null: none it still holds).
 * Blocks without events differ between publishers (each one's read ranges end elsewhere), blocks with
 * events do not, so this link is the same for every honest publisher, and a receiver can tell from it
 * that blocks it applied were reorged out. Pure: no I/O, nothing of the node's.
 */
import {
  decodeRecord,
  encodeCbor,
  finite,
  GOSSIP_VERSION,
  GossipDecodeError,
  isRecord,
  isUuid,
  list,
  text,
} from './codec.ts';

/** One normalised event as published; the same fields as the harvester's ChainEvent, minus what the receiver derives. */
export interface WireChainEvent {
  txHash: string;
  logIndex: number;
  kind: string;
  contract: string;
  from: string;
  to: string;
  amount?: string;
  tokenId?: string;
  odysseyId?: string;
  odysseyTo?: string;
  token?: number;
  raw: { topics: string[]; data: string };
}

export interface BlockLink {
  number: number;
  hash: string;
}

export interface ChainBlockAnnouncement {
  /** CAIP-2 chain id (`eip155:1`, `polkadot:<genesis prefix>`): must match the topic. */
  chainId: string;
  number: number;
  hash: string;
  link: BlockLink | null;
  events: WireChainEvent[];
  /**
   * The accounts the publisher watches on this chain (account ids, 0x hex), when its events are limited
   * to them (Substrate balance events and `balances.free` snapshots); absent = every account. Two honest
   * publishers watching different accounts publish different events for one block: receivers compare
   * and vote knowing what each one covers.
   */
  accounts?: string[];
}

/** Events a publisher puts in one block; a block with more is not published (receivers see a gap). */
export const MAX_CHAIN_EVENTS = 2000;
/** Accounts a publication may say it covers; a publisher watching more does not publish the chain. */
export const MAX_COVERED_ACCOUNTS = 256;
/** An account id: a 32-byte public key, or a 20-byte (EVM-style) account. */
const ACCOUNT_ID = /^0x([0-9a-f]{64}|[0-9a-f]{40})$/;
/** Largest `raw.data` (hex characters) of one event. */
export const MAX_RAW_DATA = 16 * 1024;
const MAX_TOPICS = 8;
/** 0x + 64 hex: EVM and Substrate block and transaction hashes. */
const HASH32 = /^0x[0-9a-f]{64}$/;
const HEX = /^0x[0-9a-fA-F]*$/;
const DECIMAL = /^\d{1,78}$/;
const CHAIN_ID = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,64}$/;
/** Highest block number taken: any real chain is far below, and it stays a safe integer. */
const MAX_BLOCK = 2 ** 48;

/** What every chain topic starts with. */
export const CHAIN_TOPIC_PREFIX = '/odyssey/chain/';
export const chainTopic = (chainId: string): string => `${CHAIN_TOPIC_PREFIX}${chainId}/blocks/1`;

export function encodeChainBlock(a: ChainBlockAnnouncement): Uint8Array {
  return encodeCbor({ v: GOSSIP_VERSION, ...a });
}

export function decodeChainBlock(bytes: Uint8Array, maxBytes: number): ChainBlockAnnouncement {
  return readChainBlock(decodeRecord(bytes, maxBytes));
}

/** A block's fields from an already decoded record (a gossip message, or a frame of a chain pull). */
export function readChainBlock(m: Record<string, unknown>): ChainBlockAnnouncement {
  const chainId = text(m, 'chainId', 80);
  if (!CHAIN_ID.test(chainId)) throw new GossipDecodeError('bad_field', 'chainId');
  const link = m.link === null ? null : blockLink(m.link);
  const number = blockNumber(m, 'number');
  if (link && link.number >= number) throw new GossipDecodeError('bad_field', 'link');
  const block: ChainBlockAnnouncement = {
    chainId,
    number,
    hash: hash(m, 'hash'),
    link,
    events: list(m, 'events', MAX_CHAIN_EVENTS).map(wireEvent),
  };
  if (m.accounts !== undefined) {
    block.accounts = list(m, 'accounts', MAX_COVERED_ACCOUNTS).map((a) => {
      if (typeof a !== 'string' || !ACCOUNT_ID.test(a)) throw new GossipDecodeError('bad_field', 'accounts');
      return a;
    });
  }
  return block;
}

function blockNumber(m: Record<string, unknown>, field: string): number {
  const n = finite(m, field);
  if (!Number.isInteger(n) || n < 0 || n > MAX_BLOCK) throw new GossipDecodeError('bad_field', field);
  return n;
}

function hash(m: Record<string, unknown>, field: string): string {
  const h = text(m, field, 66);
  if (!HASH32.test(h)) throw new GossipDecodeError('bad_field', field);
  return h;
}

function blockLink(value: unknown): BlockLink {
  if (!isRecord(value)) throw new GossipDecodeError('bad_field', 'link');
  return { number: blockNumber(value, 'number'), hash: hash(value, 'hash') };
}

function optional<T>(m: Record<string, unknown>, field: string, read: () => T): T | undefined {
  return m[field] === undefined ? undefined : read();
}

function matching(m: Record<string, unknown>, field: string, pattern: RegExp, max: number): string {
  const value = text(m, field, max);
  if (!pattern.test(value)) throw new GossipDecodeError('bad_field', field);
  return value;
}

function wireEvent(value: unknown): WireChainEvent {
  if (!isRecord(value)) throw new GossipDecodeError('bad_field', 'events');
  const logIndex = finite(value, 'logIndex');
  // -1: a snapshot read at the block (`balances.free`), not a log.
  if (!Number.isInteger(logIndex) || logIndex < -1 || logIndex > 2 ** 32)
    throw new GossipDecodeError('bad_field', 'logIndex');
  const raw = value.raw;
  if (!isRecord(raw)) throw new GossipDecodeError('bad_field', 'raw');
  const topics = list(raw, 'topics', MAX_TOPICS).map((t) => {
    if (typeof t !== 'string' || t.length > 200) throw new GossipDecodeError('bad_field', 'topics');
    return t;
  });
  const odysseyId = optional(value, 'odysseyId', () => text(value, 'odysseyId', 36));
  const odysseyTo = optional(value, 'odysseyTo', () => text(value, 'odysseyTo', 36));
  if (odysseyId !== undefined && !isUuid(odysseyId)) throw new GossipDecodeError('bad_field', 'odysseyId');
  if (odysseyTo !== undefined && !isUuid(odysseyTo)) throw new GossipDecodeError('bad_field', 'odysseyTo');
  const token = optional(value, 'token', () => finite(value, 'token'));
  if (token !== undefined && (!Number.isInteger(token) || token < 0 || token > 255))
    throw new GossipDecodeError('bad_field', 'token');
  const event: WireChainEvent = {
    txHash: matching(value, 'txHash', HEX, 66),
    logIndex,
    kind: matching(value, 'kind', /^[a-z][a-z.-]{0,39}$/, 40),
    contract: text(value, 'contract', 128),
    from: text(value, 'from', 128),
    to: text(value, 'to', 128),
    raw: { topics, data: matching(raw, 'data', HEX, MAX_RAW_DATA) },
  };
  const amount = optional(value, 'amount', () => matching(value, 'amount', DECIMAL, 78));
  const tokenId = optional(value, 'tokenId', () => matching(value, 'tokenId', DECIMAL, 78));
  // Absent fields stay absent: the receiver's agreement check compares events field by field.
  if (amount !== undefined) event.amount = amount;
  if (tokenId !== undefined) event.tokenId = tokenId;
  if (odysseyId !== undefined) event.odysseyId = odysseyId;
  if (odysseyTo !== undefined) event.odysseyTo = odysseyTo;
  if (token !== undefined) event.token = token;
  return event;
}

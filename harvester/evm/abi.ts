/**
 * The EVM events the harvester reads, with the exact signatures of the deployed contracts (docs/chains.md),
 * and the decoding of one raw log into a normalised ChainEvent. Dispatch is by emitting address first
 * (which role it was configured for), then topic0, as the original did: ERC-20 and ERC-721 `Transfer`
 * share a topic0 and differ only in the number of topics.
 */
import { decodeEventLog, type Hex, parseAbi, toEventSelector } from 'viem';
import { type ChainEvent, type ChainEventKind, eventId } from '../adapter.ts';
import { odysseyIdOf } from '../odyssey-id.ts';

export const ERC20_ABI = parseAbi([
  'event Transfer(address indexed from, address indexed to, uint256 value)',
]);
export const ERC721_ABI = parseAbi([
  'event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)',
]);
export const STAKING_ABI = parseAbi([
  'event Stake(address indexed user, uint256 indexed odyssey_id, uint256 amount_staked, uint8 token, uint256 total_staked)',
  'event Unstake(address indexed user, uint256 indexed odyssey_id, uint256 amount_unstaked, uint8 token, uint256 total_staked)',
  'event Restake(address indexed user, uint256 indexed odyssey_from, uint256 indexed odyssey_to, uint256 amount, uint8 token, uint256 total_staked_from, uint256 total_staked_to)',
  'event ClaimedUnstaked(address indexed user, uint256 total_claimed, uint256 total_staked)',
]);
/** The contract renamed NodeMngmtEvent to NodeMgmtEvent on 2023-10-31; both topic0s are matched. */
export const NODE_MANAGEMENT_ABI = parseAbi([
  'event NodeMgmtEvent(uint256 indexed from_node_id, uint256 indexed to_node_id, uint256 indexed odyssey_id)',
  'event NodeMngmtEvent(uint256 indexed from_node_id, uint256 indexed to_node_id, uint256 indexed odyssey_id)',
]);

export const TOPICS = {
  transfer: toEventSelector(ERC20_ABI[0]),
  stake: toEventSelector(STAKING_ABI[0]),
  unstake: toEventSelector(STAKING_ABI[1]),
  restake: toEventSelector(STAKING_ABI[2]),
  claimedUnstaked: toEventSelector(STAKING_ABI[3]),
  nodeMgmt: toEventSelector(NODE_MANAGEMENT_ABI[0]),
  nodeMngmt: toEventSelector(NODE_MANAGEMENT_ABI[1]),
} as const;

export { ZERO_ADDRESS } from '../adapter.ts';

/** Which contract plays which role; addresses lowercase. */
export interface EvmContracts {
  tokens: string[];
  nfts: string[];
  staking?: string;
  nodeManagement?: string;
}

export type Role = 'token' | 'nft' | 'staking' | 'node';

/** address → role, for dispatch. */
export function roles(c: EvmContracts): Map<string, Role> {
  const m = new Map<string, Role>();
  for (const a of c.tokens) m.set(a, 'token');
  for (const a of c.nfts) m.set(a, 'nft');
  if (c.staking) m.set(c.staking, 'staking');
  if (c.nodeManagement) m.set(c.nodeManagement, 'node');
  return m;
}

/** The topic0s worth asking the RPC for: anything else the contracts emit (Approval, roles…) is ignored. */
export const WANTED_TOPICS: Hex[] = Object.values(TOPICS);

export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string | bigint | null;
  blockHash: string | null;
  transactionHash: string | null;
  logIndex: string | number | null;
}

const num = (v: string | number | bigint | null): number =>
  typeof v === 'number' ? v : v === null ? -1 : Number(BigInt(v));
const lower = (a: string) => a.toLowerCase();
const uuid = (v: bigint): string | undefined => odysseyIdOf(v);

/** A log as a ChainEvent, or undefined when it is not one the harvester reads (or cannot be decoded). */
export function decodeLog(chainId: string, role: Role | undefined, log: RawLog): ChainEvent | undefined {
  const topics = log.topics as [Hex, ...Hex[]];
  if (!role || !topics.length || !log.transactionHash || !log.blockHash) return undefined;
  const t0 = lower(topics[0]);
  const base = (kind: ChainEventKind) => ({
    id: eventId(chainId, log.transactionHash as string, num(log.logIndex)),
    chainId,
    blockNumber: num(log.blockNumber),
    blockHash: lower(log.blockHash as string),
    txHash: lower(log.transactionHash as string),
    logIndex: num(log.logIndex),
    kind,
    contract: lower(log.address),
    raw: { topics: log.topics.map(lower), data: log.data },
  });
  try {
    if (role === 'token' && t0 === TOPICS.transfer && topics.length === 3) {
      const { args } = decodeEventLog({ abi: ERC20_ABI, topics, data: log.data as Hex });
      return {
        ...base('token.transfer'),
        from: lower(args.from),
        to: lower(args.to),
        amount: `${args.value}`,
      };
    }
    if (role === 'nft' && t0 === TOPICS.transfer && topics.length === 4) {
      const { args } = decodeEventLog({ abi: ERC721_ABI, topics, data: log.data as Hex });
      return {
        ...base('nft.transfer'),
        from: lower(args.from),
        to: lower(args.to),
        tokenId: `${args.tokenId}`,
        odysseyId: uuid(args.tokenId),
      };
    }
    if (role === 'staking') return decodeStaking(base, topics, log.data as Hex);
    if (role === 'node' && (t0 === TOPICS.nodeMgmt || t0 === TOPICS.nodeMngmt)) {
      const { args } = decodeEventLog({ abi: NODE_MANAGEMENT_ABI, topics, data: log.data as Hex });
      return {
        ...base('node.odyssey-moved'),
        from: uuid(args.from_node_id) ?? `${args.from_node_id}`,
        to: uuid(args.to_node_id) ?? `${args.to_node_id}`,
        odysseyId: uuid(args.odyssey_id),
      };
    }
  } catch {
    // A log with our topic0 but another layout (e.g. a non-standard token): not ours to interpret.
    return undefined;
  }
  return undefined;
}

function decodeStaking(
  base: (kind: ChainEventKind) => Omit<ChainEvent, 'from' | 'to'>,
  topics: [Hex, ...Hex[]],
  data: Hex,
): ChainEvent | undefined {
  const decoded = decodeEventLog({ abi: STAKING_ABI, topics, data });
  switch (decoded.eventName) {
    case 'Stake':
    case 'Unstake': {
      const a = decoded.args;
      const amount = 'amount_staked' in a ? a.amount_staked : a.amount_unstaked;
      return {
        ...base(decoded.eventName === 'Stake' ? 'stake' : 'unstake'),
        from: lower(a.user),
        to: '',
        amount: `${amount}`,
        odysseyId: uuid(a.odyssey_id),
        token: a.token,
      };
    }
    case 'Restake': {
      const a = decoded.args;
      return {
        ...base('restake'),
        from: lower(a.user),
        to: '',
        amount: `${a.amount}`,
        odysseyId: uuid(a.odyssey_from),
        odysseyTo: uuid(a.odyssey_to),
        token: a.token,
      };
    }
    case 'ClaimedUnstaked':
      return {
        ...base('claimed-unstaked'),
        from: lower(decoded.args.user),
        to: '',
        amount: `${decoded.args.total_claimed}`,
      };
  }
}

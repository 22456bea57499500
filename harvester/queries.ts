/**
 * Read side of the chain state, for the REST routes: balances, stakes and stakers, in plain records.
 * Everything here is a prefix scan of the chain-state sublevel (keys: see state.ts).
 */
import type { ChainEvent } from './adapter.ts';
import type { ChainStore } from './chain-store.ts';
import { type ChainConfig, chainIdOf } from './config.ts';

export interface TokenBalance {
  chainId: string;
  chain: string;
  contract: string;
  balance: string;
  /** Position of the contract in the chain's `tokens` list: the staking contract's Token enum (0 MOM, 1 DAD). */
  tokenIndex: number;
}

/** A Substrate account's free balance on one chain (state key `free`, see state.ts). */
export interface FreeBalance {
  chainId: string;
  chain: string;
  /** The account in the chain's SS58 prefix. */
  address: string;
  free: string;
}

export interface StakeRow {
  wallet: string;
  odysseyId: string;
  chainId: string;
  chain: string;
  token: number;
  amount: string;
}

export class ChainQueries {
  private readonly store: ChainStore;
  private readonly chains: Map<string, ChainConfig>;

  constructor(components: { store: ChainStore; chains: ChainConfig[] }) {
    this.store = components.store;
    this.chains = new Map(components.chains.map((c) => [chainIdOf(c), c]));
  }

  chainName(chainId: string): string {
    return this.chains.get(chainId)?.name ?? chainId;
  }

  async balances(wallet: string): Promise<TokenBalance[]> {
    return (await this.store.entries('bal', wallet)).map(([[chainId, contract], balance]) => ({
      chainId,
      chain: this.chainName(chainId),
      contract,
      balance,
      tokenIndex: tokenIndex(this.chains.get(chainId), contract),
    }));
  }

  /**
   * Free balances of a Substrate account on every followed Substrate chain; `wallet` as user wallets
   * spell it (0x + the public key's hex; any other string finds nothing).
   */
  async freeBalances(wallet: string): Promise<FreeBalance[]> {
    if (!/^0x[0-9a-f]+$/.test(wallet)) return [];
    return (await this.store.entries('free', wallet)).map(([[chainId, address], free]) => ({
      chainId,
      chain: this.chainName(chainId),
      address,
      free,
    }));
  }

  /** Unstaked and not yet claimed, per chain. */
  async unbonding(wallet: string): Promise<Map<string, string>> {
    return new Map((await this.store.entries('unbond', wallet)).map(([[chainId], v]) => [chainId, v]));
  }

  async stakesOf(wallet: string): Promise<StakeRow[]> {
    return (await this.store.entries('stake', wallet)).map(([[odysseyId, chainId, token], amount]) =>
      this.row(wallet, odysseyId, chainId, token, amount),
    );
  }

  async stakersOf(odysseyId: string): Promise<StakeRow[]> {
    return (await this.store.entries('wstake', odysseyId)).map(([[wallet, chainId, token], amount]) =>
      this.row(wallet, odysseyId, chainId, token, amount),
    );
  }

  /** Stakes in a world per wallet, all chains and tokens summed. */
  async worldStakes(odysseyId: string): Promise<{ wallet: string; amount: string }[]> {
    const byWallet = new Map<string, bigint>();
    for (const r of await this.stakersOf(odysseyId)) {
      byWallet.set(r.wallet, (byWallet.get(r.wallet) ?? 0n) + BigInt(r.amount));
    }
    return [...byWallet].map(([wallet, amount]) => ({ wallet, amount: `${amount}` }));
  }

  async allStakes(): Promise<StakeRow[]> {
    return (await this.store.entries('stake')).map(([[wallet, odysseyId, chainId, token], amount]) =>
      this.row(wallet, odysseyId, chainId, token, amount),
    );
  }

  /** The wallet holding an NFT, if any. */
  /** The applied Stake event of this transaction from this wallet to this world, on any followed chain. */
  async stakeEvent(
    transactionHash: string,
    wallet: string,
    odysseyId: string,
  ): Promise<ChainEvent | undefined> {
    const events = await this.store.eventsOfTransaction(transactionHash);
    return events.find((e) => e.kind === 'stake' && e.from === wallet && e.odysseyId === odysseyId);
  }

  async nftOwner(chainId: string, contract: string, tokenId: string): Promise<string | undefined> {
    return this.store.value('nft', chainId, contract, tokenId);
  }

  private row(wallet: string, odysseyId: string, chainId: string, token: string, amount: string): StakeRow {
    return { wallet, odysseyId, chainId, chain: this.chainName(chainId), token: Number(token), amount };
  }
}

const tokenIndex = (c: ChainConfig | undefined, contract: string): number =>
  c?.family === 'evm' ? c.contracts.tokens.indexOf(contract) : -1;

/** Sum of decimal strings. */
export const total = (amounts: Iterable<string>): string => {
  let sum = 0n;
  for (const a of amounts) sum += BigInt(a);
  return `${sum}`;
};

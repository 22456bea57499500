/**
 * Derived chain state: what the events of a block do to balances, NFT ownership and stakes. Pure
 * functions over a key/value view, so the same code computes a block's writes and the undo entries that
 * roll it back. Values are decimal strings (uint256 does not fit a JS number); absent = zero / no owner.
 *
 * Keys in the chain-state sublevel (wallets first where the REST routes ask per wallet):
 *   bal!<wallet>!<chainId>!<token>                   ERC-20 balance from transfers since the start block
 *   nft!<chainId>!<contract>!<tokenId>               owner of an NFT
 *   own!<wallet>!<chainId>!<contract>!<tokenId>      '1': the wallet's NFTs
 *   stake!<wallet>!<odysseyId>!<chainId>!<token>     staked amount
 *   wstake!<odysseyId>!<wallet>!<chainId>!<token>    the same, per staked world
 *   unbond!<wallet>!<chainId>                        unstaked, not yet claimed
 *   native!<wallet>!<chainId>                        native balance at the last sampled block
 *   onode!<odysseyId>!<chainId>                      node an odyssey was moved to (NodeManagement)
 *   free!<account id>!<chainId>!<address>            Substrate free balance at the last block that named
 *                                                    the account (account id: 0x public key, the user
 *                                                    wallet form; address: SS58 in the chain's prefix)
 */
// Every node imports chain state (the harvester's store), chains or not: SS58 is decoded by our own
// common/ss58.ts and the zero address comes from adapter.ts, so that viem and @polkadot/util-crypto (~80 MiB
// of RSS together) load only with a chain of their family (lazy-adapter.ts).
import { decodeSs58 } from '../common/ss58.ts';
import { type ChainEvent, eventId, freeBalanceId, ZERO_ADDRESS } from './adapter.ts';

export const stateKey = (...parts: (string | number)[]): string => parts.join('!');

/** Reads as of the block being applied: earlier events of the same block included. */
export interface StateView {
  get(key: string): Promise<string | null>;
  set(key: string, value: string | null): void;
}

/** Which worlds an event touches: Odyssey NFTs (ownership) and staked worlds (totals). */
export interface Touched {
  /** `chainId!contract!tokenId` of NFTs whose owner changed. */
  nfts: Set<string>;
  odysseys: Set<string>;
}

export const emptyTouched = (): Touched => ({ nfts: new Set(), odysseys: new Set() });

const add = async (view: StateView, key: string, delta: bigint): Promise<void> => {
  const next = BigInt((await view.get(key)) ?? '0') + delta;
  view.set(key, next === 0n ? null : `${next}`);
};

/** Applies one event to the view. Events of an unknown kind change nothing. */
export async function applyEvent(view: StateView, e: ChainEvent, touched: Touched): Promise<void> {
  const amount = BigInt(e.amount ?? '0');
  const token = `${e.token ?? 0}`;
  switch (e.kind) {
    case 'token.transfer':
      if (e.from !== ZERO_ADDRESS) await add(view, stateKey('bal', e.from, e.chainId, e.contract), -amount);
      if (e.to !== ZERO_ADDRESS) await add(view, stateKey('bal', e.to, e.chainId, e.contract), amount);
      return;
    case 'nft.transfer': {
      const id = e.tokenId ?? '0';
      const burned = e.to === ZERO_ADDRESS;
      view.set(stateKey('nft', e.chainId, e.contract, id), burned ? null : e.to);
      if (e.from !== ZERO_ADDRESS) view.set(stateKey('own', e.from, e.chainId, e.contract, id), null);
      if (!burned) view.set(stateKey('own', e.to, e.chainId, e.contract, id), '1');
      touched.nfts.add(stateKey(e.chainId, e.contract, id));
      return;
    }
    case 'stake':
    case 'unstake': {
      if (!e.odysseyId) return;
      const delta = e.kind === 'stake' ? amount : -amount;
      await addStake(view, e, e.odysseyId, token, delta);
      if (e.kind === 'unstake') await add(view, stateKey('unbond', e.from, e.chainId), amount);
      touched.odysseys.add(e.odysseyId);
      return;
    }
    case 'restake':
      if (!e.odysseyId || !e.odysseyTo) return;
      await addStake(view, e, e.odysseyId, token, -amount);
      await addStake(view, e, e.odysseyTo, token, amount);
      touched.odysseys.add(e.odysseyId).add(e.odysseyTo);
      return;
    case 'claimed-unstaked': {
      const key = stateKey('unbond', e.from, e.chainId);
      const left = BigInt((await view.get(key)) ?? '0') - amount;
      view.set(key, left > 0n ? `${left}` : null);
      return;
    }
    case 'native.balance':
      view.set(stateKey('native', e.from, e.chainId), e.amount && e.amount !== '0' ? e.amount : null);
      return;
    case 'node.odyssey-moved':
      if (e.odysseyId) view.set(stateKey('onode', e.odysseyId, e.chainId), e.to);
      return;
    case 'balances.free': {
      const id = accountIdOf(e.from);
      if (!id || !/^\d{1,78}$/.test(e.amount ?? '')) return;
      view.set(
        stateKey('free', id, e.chainId, e.from),
        BigInt(e.amount as string) ? (e.amount as string) : null,
      );
      return;
    }
  }
}

/**
 * A Substrate account's id as user wallets spell it: `0x` + hex of the public key (SS58 decoded), or the
 * lowercase hex of a 20-byte account. Undefined for anything else (an event that names no account
 * changes nothing rather than failing its block).
 */
export function accountIdOf(address: string): string | undefined {
  if (/^0x[0-9a-fA-F]{40}$/.test(address)) return address.toLowerCase();
  try {
    return address.startsWith('0x') ? undefined : `0x${Buffer.from(decodeSs58(address)).toString('hex')}`;
  } catch {
    return undefined;
  }
}

async function addStake(view: StateView, e: ChainEvent, odysseyId: string, token: string, delta: bigint) {
  await add(view, stateKey('stake', e.from, odysseyId, e.chainId, token), delta);
  await add(view, stateKey('wstake', odysseyId, e.from, e.chainId, token), delta);
}

/** An event id is chain-scoped: recompute it rather than trust one a peer sent. */
export const canonicalId = (e: ChainEvent): string => {
  if (e.kind === 'native.balance') return e.id;
  if (e.kind === 'balances.free') return freeBalanceId(e.chainId, e.blockHash, e.from);
  return eventId(e.chainId, e.txHash, e.logIndex);
};

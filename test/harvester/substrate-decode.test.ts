/**
 * Substrate decoding with the real Polkadot and Kusama metadata (@polkadot/types-support): balance events
 * built as the runtime encodes them, decoded by the chain's registry, normalised with the chain's SS58
 * prefix. No node runs here (no Polkadot or Kusama relay-chain node runs in the tests or CI at all).
 */
import { Metadata, TypeRegistry } from '@polkadot/types';
import kusamaMetadata from '@polkadot/types-support/metadata/v14/kusama-hex';
import polkadotMetadata from '@polkadot/types-support/metadata/v14/polkadot-hex';
import { bnToU8a, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import { describe, expect, it } from 'vitest';
import { chainsSchema, SUBSTRATE_PRESETS } from '../../harvester/config.ts';
import { decodeBalanceEvents, type EventRecordLike, ss58 } from '../../harvester/substrate/events.ts';

// Alice and Bob of the dev keyring, as public keys.
const ALICE = hexToU8a('0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d');
const BOB = hexToU8a('0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48');
const BLOCK = { number: 7, hash: `0x${'ab'.repeat(32)}` };
const TX = `0x${'cd'.repeat(32)}`;

function registryFor(hex: `0x${string}`): { registry: TypeRegistry; metadata: Metadata } {
  const registry = new TypeRegistry();
  const metadata = new Metadata(registry, hex);
  registry.setMetadata(metadata);
  return { registry, metadata };
}

/** `[pallet index, variant index] ++ SCALE(fields)`: how the runtime encodes an event. */
function eventBytes(metadata: Metadata, pallet: string, variant: string, fields: Uint8Array): Uint8Array {
  const p = metadata.asLatest.pallets.find((x) => x.name.toString() === pallet);
  if (!p) throw new Error(`no pallet ${pallet}`);
  const type = metadata.registry.lookup.getSiType(p.events.unwrap().type);
  const v = type.def.asVariant.variants.find((x) => x.name.toString() === variant);
  if (!v) throw new Error(`no event ${pallet}.${variant}`);
  return u8aConcat([p.index.toNumber(), v.index.toNumber()], fields);
}

const u128 = (n: bigint) => bnToU8a(n, { bitLength: 128, isLe: true });

function records(hex: `0x${string}`): EventRecordLike[] {
  const { registry, metadata } = registryFor(hex);
  const record = (phase: unknown, event: Uint8Array) =>
    registry.createType('FrameSystemEventRecord', { phase, event, topics: [] });
  const vec = registry.createType('Vec<FrameSystemEventRecord>', [
    record({ ApplyExtrinsic: 0 }, eventBytes(metadata, 'System', 'NewAccount', BOB)),
    record({ ApplyExtrinsic: 1 }, eventBytes(metadata, 'Balances', 'Withdraw', u8aConcat(ALICE, u128(150n)))),
    record(
      { ApplyExtrinsic: 1 },
      eventBytes(metadata, 'Balances', 'Endowed', u8aConcat(BOB, u128(10n ** 12n))),
    ),
    record(
      { ApplyExtrinsic: 1 },
      eventBytes(metadata, 'Balances', 'Transfer', u8aConcat(ALICE, BOB, u128(10n ** 12n))),
    ),
    record('Finalization', eventBytes(metadata, 'Balances', 'Deposit', u8aConcat(BOB, u128(5n)))),
  ]);
  return vec.toArray() as unknown as EventRecordLike[];
}

describe('substrate balance events with real relay-chain metadata', () => {
  for (const [chain, hex, prefix] of [
    ['polkadot', polkadotMetadata, 0],
    ['kusama', kusamaMetadata, 2],
  ] as const) {
    it(`decodes ${chain} balances events with SS58 prefix ${prefix}`, () => {
      const recs = records(hex as `0x${string}`);
      const chainId = `polkadot:${SUBSTRATE_PRESETS[chain].genesisHash.slice(2, 34)}`;
      const events = decodeBalanceEvents(recs, {
        chainId,
        block: BLOCK,
        ss58Prefix: prefix,
        extrinsicHashes: [`0x${'00'.repeat(32)}`, TX],
      });
      const alice = encodeAddress(ALICE, prefix);
      const bob = encodeAddress(BOB, prefix);
      expect(events.map((e) => [e.kind, e.from, e.to, e.amount, e.txHash, e.logIndex])).toEqual([
        ['balances.withdraw', alice, '', '150', TX, 1],
        ['balances.endowed', bob, '', '1000000000000', TX, 2],
        ['balances.transfer', alice, bob, '1000000000000', TX, 3],
        // Outside an extrinsic: the block hash stands in for the transaction hash.
        ['balances.deposit', bob, '', '5', BLOCK.hash, 4],
      ]);
      const transfer = events[2];
      expect(transfer).toMatchObject({
        id: `${chainId}:${TX}:3`,
        chainId,
        blockNumber: 7,
        blockHash: BLOCK.hash,
        contract: 'balances',
        raw: { topics: ['balances.Transfer'] },
      });
      expect(transfer.raw.data).toBe(u8aToHex(u8aConcat(ALICE, BOB, u128(10n ** 12n))));
    });
  }

  it('keeps only the configured accounts when asked', () => {
    const events = decodeBalanceEvents(records(polkadotMetadata as `0x${string}`), {
      chainId: 'polkadot:x',
      block: BLOCK,
      ss58Prefix: 0,
      extrinsicHashes: [],
      accounts: new Set([u8aToHex(ALICE)]),
    });
    expect(events.map((e) => e.kind)).toEqual(['balances.withdraw', 'balances.transfer']);
    // No extrinsic hashes known: events fall back to the block hash.
    expect(events[0].txHash).toBe(BLOCK.hash);
  });

  it('encodes addresses with the right prefix per chain (Polkadot is 0, not 1)', () => {
    expect(ss58(ALICE, 0)).toBe('15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5');
    expect(ss58(ALICE, 2)).toBe('HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F');
    expect(ss58(ALICE, 42)).toBe('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY');
    expect(ss58(new Uint8Array(20).fill(0xab), 0)).toBe(`0x${'ab'.repeat(20)}`);
  });

  it('configures Substrate chains by preset or genesis hash, naming the key on errors', () => {
    const [dot, ksm, other] = chainsSchema.parse([
      { name: 'dot', family: 'substrate', preset: 'polkadot', rpcUrl: 'ws://127.0.0.1:9944' },
      { name: 'ksm', family: 'substrate', preset: 'kusama', rpcUrl: 'ws://127.0.0.1:9945' },
      { name: 'dev', family: 'substrate', genesisHash: `0x${'45'.repeat(32)}`, rpcUrl: 'ws://127.0.0.1:1' },
    ]);
    expect(dot).toMatchObject({
      family: 'substrate',
      ss58Prefix: 0,
      genesisHash: SUBSTRATE_PRESETS.polkadot.genesisHash,
    });
    expect(ksm).toMatchObject({ ss58Prefix: 2, pollIntervalMs: 6000 });
    expect(other).toMatchObject({ ss58Prefix: undefined, maxBlockRange: 50, accounts: [] });
    const issues = (v: unknown) => {
      const r = chainsSchema.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues([{ name: 'x', family: 'substrate', rpcUrl: 'ws://127.0.0.1:1' }])).toEqual([
      '0.genesisHash: genesisHash is required without a preset',
    ]);
    expect(
      issues([{ name: 'x', family: 'substrate', preset: 'kusama', rpcUrl: 'http://127.0.0.1:1' }]),
    ).toEqual(['0.rpcUrl: expected a ws(s):// URL for a Substrate chain']);
    expect(
      issues([
        { name: 'x', family: 'substrate', preset: 'kusama', rpcUrl: 'ws://127.0.0.1:1', accounts: ['nope'] },
      ]),
    ).toEqual(['0.accounts.0: expected an SS58 address or a 0x-prefixed public key']);
    expect(
      issues([
        { name: 'a', family: 'substrate', preset: 'kusama', rpcUrl: 'ws://127.0.0.1:1' },
        { name: 'b', family: 'substrate', preset: 'kusama', rpcUrl: 'ws://127.0.0.1:2' },
      ]),
    ).toEqual([
      `1.genesisHash: chain polkadot:${SUBSTRATE_PRESETS.kusama.genesisHash.slice(2, 34)} is configured twice`,
    ]);
    // EVM entries still default to the evm family.
    expect(
      chainsSchema.parse([{ name: 'arb', preset: 'arbitrum', rpcUrl: 'http://127.0.0.1:1' }])[0].family,
    ).toBe('evm');
  });
});

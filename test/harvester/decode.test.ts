/** Event signatures, topic hashes and the odyssey-id mapping, checked against docs/chains.md (no chain). */
import { encodeAbiParameters, pad, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { decodeLog, TOPICS } from '../../harvester/evm/abi.ts';
import { ODYSSEY_ID_MASK, odysseyIdOf, odysseySequence, tokenIdOf } from '../../harvester/odyssey-id.ts';

describe('EVM event decoding', () => {
  it('uses the deployed contracts’ topic0s, both NodeManagement names included', () => {
    expect(TOPICS).toEqual({
      transfer: '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef',
      stake: '0xc1a5c084e329922f8ec7c1f9d388080b5ce185980b99830170a9bd911e56ce7d',
      unstake: '0xcd1b86c650bf0663e252966651bfd5312669a3bb6e38353a141fa368541e3735',
      restake: '0xf5b31220c1acf678c8a904f3a060a4b4a0bc4b9e42c9a49d318142bf4c282672',
      claimedUnstaked: '0x6eeaedc56832e751596e30e289453c8568daad613b8050876671fa4cced0fb8c',
      nodeMgmt: '0xe56a80af793b5747dedcba9783e630d0affdfbda849f9f8e55f3e9888c1d67f6',
      nodeMngmt: '0x6eed20071c30f73fd1a29e43cf87476ce8c53a9177f014b42fb0f7dfd203d628',
    });
  });

  it('maps odyssey ids to token ids and back (version 8, variant 10)', () => {
    const id = 7n | ODYSSEY_ID_MASK;
    expect(odysseyIdOf(id)).toBe('00000000-0000-8000-8000-000000000007');
    expect(tokenIdOf('00000000-0000-8000-8000-000000000007')).toBe(id);
    expect(odysseySequence(id)).toBe(7n);
    expect(odysseyIdOf(1n << 128n)).toBeUndefined();
  });

  it('tells ERC-20 from ERC-721 Transfer by topic count and role, and ignores the rest', () => {
    const from = pad('0x01', { size: 32 });
    const to = pad('0x02', { size: 32 });
    const base = {
      blockNumber: '0x5',
      blockHash: `0x${'ab'.repeat(32)}`,
      transactionHash: `0x${'cd'.repeat(32)}`,
      logIndex: '0x3',
    };
    const erc20 = {
      ...base,
      address: '0xAA',
      topics: [TOPICS.transfer, from, to],
      data: encodeAbiParameters([{ type: 'uint256' }], [9n]),
    };
    expect(decodeLog('eip155:1', 'token', erc20)).toMatchObject({
      id: `eip155:1:0x${'cd'.repeat(32)}:3`,
      kind: 'token.transfer',
      blockNumber: 5,
      contract: '0xaa',
      from: '0x0000000000000000000000000000000000000001',
      amount: '9',
    });
    // The same log from an address configured as an NFT collection is not an NFT transfer.
    expect(decodeLog('eip155:1', 'nft', erc20)).toBeUndefined();
    const erc721 = {
      ...erc20,
      topics: [TOPICS.transfer, from, to, toHex(3n | ODYSSEY_ID_MASK, { size: 32 })],
      data: '0x',
    };
    expect(decodeLog('eip155:1', 'nft', erc721)).toMatchObject({
      kind: 'nft.transfer',
      tokenId: `${3n | ODYSSEY_ID_MASK}`,
      odysseyId: '00000000-0000-8000-8000-000000000003',
    });
    expect(decodeLog('eip155:1', undefined, erc20)).toBeUndefined();
    expect(decodeLog('eip155:1', 'staking', { ...erc20, topics: [TOPICS.stake, from] })).toBeUndefined();
  });
});

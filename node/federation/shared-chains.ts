/**
 * The chain topics: one per configured chain. Blocks this node processed through its own RPC go out on
 * them; what trusted peers publish comes in, decoded and bounded here, judged by the harvester (applied
 * towards a quorum on a `source: peers` chain, cross-checked on an RPC chain).
 */
import type { Logger } from 'pino';
import type { PullAnswer } from '../../harvester/peers/answer.ts';
import type { ChainBlockPublisher, ChainGapFiller, ReceiveVerdict } from '../../harvester/peers/sharing.ts';
import {
  type ChainBlockAnnouncement,
  chainTopic,
  decodeChainBlock,
  encodeChainBlock,
} from '../../protocol/gossip/index.ts';
import type { Gossip, HandlerVerdict } from './gossip.ts';

/** What the harvester offers the federation (implemented by `Harvester`). */
export interface SharedChains {
  readonly sharedChains: string[];
  receivePeerBlock(block: ChainBlockAnnouncement, from: string): Promise<ReceiveVerdict>;
  setPublisher(publisher: ChainBlockPublisher | undefined): void;
  /** Gap fill (chain-pull.ts): how `source: peers` chains ask peers, and the nudge when one connects. */
  setGapFiller(filler: ChainGapFiller | undefined): void;
  peersAvailable(): void;
  answerPeerPull(request: {
    chainId: string;
    from: number;
    to: number;
  }): Promise<PullAnswer | { refused: string }>;
}

export class SharedChainTopics {
  private readonly gossip: Gossip;
  private readonly chains: SharedChains;
  private readonly log: Logger;
  private readonly maxMessageBytes: number;

  constructor(
    components: { gossip: Gossip; chains: SharedChains; logger: Logger },
    options: { maxMessageBytes: number },
  ) {
    this.gossip = components.gossip;
    this.chains = components.chains;
    this.log = components.logger;
    this.maxMessageBytes = options.maxMessageBytes;
  }

  start(): void {
    for (const chainId of this.chains.sharedChains) {
      this.gossip.on(chainTopic(chainId), (data, from) => this.onBlock(chainId, data, from));
    }
    this.chains.setPublisher({ publish: (block) => this.publish(block) });
  }

  stop(): void {
    this.chains.setPublisher(undefined);
  }

  private publish(block: ChainBlockAnnouncement): void {
    const data = encodeChainBlock(block);
    if (data.byteLength > this.maxMessageBytes) {
      this.log.warn(
        { chainId: block.chainId, block: block.number, bytes: data.byteLength },
        'block too large to publish',
      );
      return;
    }
    this.gossip.publish(chainTopic(block.chainId), data);
  }

  private async onBlock(chainId: string, data: Uint8Array, from: string): Promise<HandlerVerdict> {
    const block = decodeChainBlock(data, this.maxMessageBytes);
    if (block.chainId !== chainId) return { reject: 'wrong_topic' };
    return this.chains.receivePeerBlock(block, from);
  }
}

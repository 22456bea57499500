/**
 * Gossip as the federation uses it: every topic gets a validator that refuses what an untrusted node
 * signed, what does not decode and what its handler rejects — counted per origin peer, never delivered,
 * never relayed. Handlers run inside validation, so a message is applied once, when it is judged.
 */
import { type GossipSub, TopicValidatorResult } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import type { Logger } from 'pino';
import { GossipDecodeError } from '../../protocol/gossip/index.ts';
import { setGossipAppScore } from './p2p-host.ts';
import type { Peers } from './peers.ts';
import { TrustedAllowance } from './trusted-allowance.ts';
import { UntrustedFlood } from './untrusted-flood.ts';

export type HandlerVerdict = 'accept' | 'ignore' | { reject: string };

/** Messages and bytes, in and out, per kind of topic (`ops`, `people`, `positions`, `directory`). */
export type TrafficCounters = Record<
  string,
  { sent: number; sentBytes: number; received: number; receivedBytes: number }
>;

/** `/odyssey/world/<id>/positions/1` → `positions`; `/odyssey/directory/1` → `directory`. */
function topicKind(topic: string): string {
  const parts = topic.split('/');
  return parts.length > 4 ? parts[4] : parts[2];
}
export type GossipHandler = (data: Uint8Array, from: string) => HandlerVerdict | Promise<HandlerVerdict>;

export class Gossip {
  private readonly pubsub: GossipSub;
  private readonly peers: Peers;
  private readonly log: Logger;
  private readonly flood: UntrustedFlood;
  private readonly allowance: TrustedAllowance;
  readonly traffic: TrafficCounters = {};

  constructor(
    components: { pubsub: GossipSub; peers: Peers; logger: Logger },
    /** Messages a trusted node may have taken per topic and second (trusted-allowance.ts); 0 = no limit. */
    options: { trustedPerSecond: number },
  ) {
    this.pubsub = components.pubsub;
    this.peers = components.peers;
    this.log = components.logger;
    this.flood = new UntrustedFlood(this.log);
    this.allowance = new TrustedAllowance(options.trustedPerSecond);
    // Gossipsub's application-specific score term (its only one we fill): a peer below the graylist
    // threshold has its RPCs dropped before they are decoded or their signatures checked.
    setGossipAppScore(this.pubsub, (peerId) => this.flood.score(peerId));
  }

  get subscribed(): string[] {
    return this.pubsub.getTopics();
  }

  on(topic: string, handler: GossipHandler): void {
    this.pubsub.topicValidators.set(topic, async (source: PeerId, message) => {
      if (message.type !== 'signed') return TopicValidatorResult.Reject;
      const counters = this.counters(topic);
      counters.received++;
      counters.receivedBytes += message.data.byteLength;
      const from = message.from.toString();
      if (!this.peers.isTrusted(from)) {
        // Counted against the connected peer that sent it: signers cost nothing to make, connections do.
        this.peers.rejected(source.toString(), 'untrusted');
        if (!this.peers.isTrusted(source.toString())) this.flood.refused(source.toString());
        return TopicValidatorResult.Reject;
      }
      if (!this.allowance.take(from, topic)) {
        this.peers.ignored(from, 'over_allowance');
        return TopicValidatorResult.Ignore;
      }
      let verdict: HandlerVerdict;
      try {
        verdict = await handler(message.data, from);
      } catch (error) {
        if (!(error instanceof GossipDecodeError)) {
          this.log.warn({ err: error, topic, from }, 'gossip handler failed');
          return TopicValidatorResult.Ignore;
        }
        verdict = { reject: error.reason };
      }
      if (verdict === 'accept') {
        this.peers.accepted(from);
        return TopicValidatorResult.Accept;
      }
      if (verdict === 'ignore') return TopicValidatorResult.Ignore;
      this.peers.rejected(from, verdict.reject);
      this.log.debug({ topic, from, reason: verdict.reject }, 'gossip rejected');
      return TopicValidatorResult.Reject;
    });
    this.pubsub.subscribe(topic);
  }

  off(topic: string): void {
    this.pubsub.unsubscribe(topic);
    this.pubsub.topicValidators.delete(topic);
  }

  /** True when some connected peer subscribes to `topic` (who would receive a publish on it now). */
  hasSubscribers(topic: string): boolean {
    return this.pubsub.getSubscribers(topic).length > 0;
  }

  publish(topic: string, data: Uint8Array): void {
    const counters = this.counters(topic);
    counters.sent++;
    counters.sentBytes += data.byteLength;
    this.pubsub.publish(topic, data).catch((error: unknown) => {
      this.log.debug({ err: error, topic }, 'gossip publish failed');
    });
  }

  private counters(topic: string) {
    const kind = topicKind(topic);
    let c = this.traffic[kind];
    if (!c) {
      c = { sent: 0, sentBytes: 0, received: 0, receivedBytes: 0 };
      this.traffic[kind] = c;
    }
    return c;
  }
}

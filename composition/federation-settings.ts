/** What federation is told of the node's config: names, intervals and limits, geo parsed once. */
import type { NodeConfig } from '../node/config.ts';
import type { FederationOptions } from '../node/federation/federation.ts';
import { parseGeo } from '../node/federation/geo.ts';

export function federationSettings(
  c: NodeConfig,
  version: string,
  maxMessageBytes: number,
): FederationOptions {
  return {
    name: c.name,
    version,
    publicUrl: c.publicUrl,
    region: c.region,
    geo: parseGeo(c.geo),
    trust: c.trust,
    bootstrap: c.bootstrap,
    replicate: c.replicate,
    mirrors: c.mirrors,
    syncIntervalMs: c.federationSyncIntervalMs,
    pullTimeoutMs: c.federationPullTimeoutMs,
    announceIntervalMs: c.announceIntervalMs,
    silenceTimeoutMs: c.peerSilenceTimeoutMs,
    maxClockSkewMs: c.maxClockSkewMs,
    maxRemotePeople: c.maxRemotePeople,
    peerGossipPerSecond: c.peerGossipPerSecond,
    positionBatch: c.positionBatch,
    maxMessageBytes,
    followsChain: c.chains.length > 0,
  };
}

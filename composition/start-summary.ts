/**
 * What the start line says: every feature an operator may expect, on or off, with the settings that
 * matter, so one log line answers "is the harvester on? who are the admins? is CORS open?".
 */
import type { NodeConfig } from '../node/config.ts';

const list = (spec: string) =>
  spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export interface StartFacts {
  peerId: string;
  listen: string[];
  gitCommit: string | undefined;
}

export function startSummary(c: NodeConfig, facts: StartFacts) {
  const admins = list(c.admins);
  const trust = list(c.trust);
  const cors = list(c.cors);
  const bootstrap = list(c.bootstrap);
  return {
    git: facts.gitCommit ?? null,
    harvester: c.chains.length ? c.chains.map((chain) => `${chain.name} (${chain.family})`) : 'off',
    admins: admins.length ? admins : 'none',
    worldCreation: c.worldCreation === 'admins' ? 'node admins only' : 'any signed-in user (not guests)',
    cors: cors.length === 0 ? 'off' : cors.includes('*') ? 'any origin' : cors,
    federation: {
      peerId: facts.peerId,
      listen: facts.listen,
      trust: trust.length === 0 ? 'nobody' : trust[0] === 'all' ? 'all peers' : trust,
      bootstrap: bootstrap.length ? bootstrap : 'none',
      replicate: c.replicate,
      mirrors: list(c.mirrors),
    },
    pinning: {
      pin: c.pin,
      storageQuotaGb: c.storageQuotaGb === 0 ? 'none' : c.storageQuotaGb,
    },
    metrics:
      c.metrics === 'off'
        ? 'off'
        : c.metricsToken
          ? 'on at /metrics (bearer token)'
          : 'on at /metrics (open)',
  };
}

/**
 * What scripts/bench-load.ts reports: the shapes of a scenario and of what was measured, the goal a
 * scenario is judged by, the markdown tables (results, details, node against the floor) and the summary
 * of a node's CPU profile. Pure: it reads files only to summarise a profile.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable } from './markdown-table.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export const GOAL_P99_MS = 200;
/** Moves an observer never got (superseded before a tick sent them): about 0.5 % is timer jitter. */
export const MAX_NEVER_SEEN_PCT = 5;
export interface Scenario {
  name: string;
  clients: number;
  interest: boolean;
  /** The server under test: the node, or the floor (scripts/floor-server.ts). */
  server?: 'node' | 'floor';
}

export interface LoadResult {
  clients: number;
  inWorld: number;
  observers: number;
  setupMs: number;
  /** From the first WebSocket opened to the last client in the world (guest tokens not included). */
  enterMs?: number;
  movesSentPerSec: number;
  slotsSkipped: number;
  framesPerSec: number;
  bytesPerSec: number;
  entriesPerSec: number;
  deliveredToOthersPerSec: number;
  observerOthersPerSec: number;
  deliveredScaledPerSec: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
  skippedPct: number | null;
  observer: Record<string, number>;
  errors: {
    failedTokens: number;
    failedConnect: number;
    notInWorld: number;
    closedBeforeMeasure: number;
    closedDuringMeasure: number;
    closeCodes: Record<string, number>;
  };
  loadgen: { cpuPct: number; eventLoopDelayP99Ms: number; eventLoopDelayMaxMs: number; rssMB: number };
}

export interface Measured {
  scenario: Scenario;
  result?: LoadResult;
  failure?: string;
  nodeCpuPct?: number;
  /** The kernel's part of nodeCpuPct (stime): socket writes. */
  nodeSysPct?: number;
  nodeRssMaxMB?: number;
  loadgenProcCpuPct?: number;
  machineBusyPct?: number;
  /**
   * CPU used during the window by anything but the node, the generator and interrupts (% of one core):
   * the machine's busy time minus theirs, so short-lived processes count too.
   */
  otherCpuPct?: number;
  /** The biggest other processes still alive at the end of the window, e.g. "node 98%". */
  otherTop?: string;
  /** Softirq (loopback TCP delivery, partly our own traffic) and steal (hypervisor), % of one core. */
  softirqPct?: number;
  stealPct?: number;
  nodeLoop?: { p50Ms: number; p99Ms: number; maxMs: number };
  /** CPU seconds the node spent from its start until every client was in the world (tokens and entering). */
  nodeSetupCpuS?: number;
  /** Of nodeSetupCpuS: until the node said it started, and until every guest token was issued. */
  nodeStartCpuS?: number;
  nodeTokensCpuS?: number;
  nodeWarnings: number;
  nodeLogTail: string[];
  profile?: string;
}

// ---- CPU profile summary ------------------------------------------------------------------------------

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Top functions by self time, and self time per file, of a .cpuprofile (optionally only a time window). */
export function summarizeProfile(file: string, window?: { from: number; to: number }, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    startTime: number;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (window && (t < window.from || t > window.to)) continue;
    // A sample stands for the time until the next one.
    const dt = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1] : 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const shortUrl = (url: string) =>
    url
      .replace(`file://${ROOT}/`, '')
      .replace(/^node:/, 'node:')
      .replace(/.*node_modules\//, '');
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const name = `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const fileKey = frame.url ? shortUrl(frame.url) : frame.functionName || '(native)';
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `CPU profile ${window ? 'of the measurement window' : '(whole run)'}: ${(total / 1e6).toFixed(2)} s of samples`,
    'top functions by self time:',
    ...[...byFunction]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => `  ${pct(us)}  ${name}`),
    'self time by file:',
    ...[...byFile]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([name, us]) => `  ${pct(us)}  ${name}`),
  ];
  return lines.join('\n');
}

// ---- table --------------------------------------------------------------------------------------------

export const fmt = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
export const thousands = (v: number | undefined) =>
  v === undefined ? '–' : Math.round(v).toLocaleString('en-US');
export const mbps = (bytes: number | undefined) =>
  bytes === undefined ? '–' : `${(bytes / 1e6).toFixed(1)} MB/s`;

export function errorsOf(m: Measured): string {
  if (m.failure && !m.result) return m.failure;
  const e = m.result?.errors;
  if (!e) return '–';
  const parts: string[] = [];
  if (e.failedTokens) parts.push(`${e.failedTokens} no token`);
  if (e.failedConnect) parts.push(`${e.failedConnect} connect failed`);
  if (e.notInWorld) parts.push(`${e.notInWorld} not in world`);
  const closed = e.closedBeforeMeasure + e.closedDuringMeasure;
  if (closed)
    parts.push(
      `${closed} closed (${Object.entries(e.closeCodes)
        .map(([code, n]) => `${n}×${code}`)
        .join(', ')})`,
    );
  if (m.result?.slotsSkipped) parts.push(`${m.result.slotsSkipped} send slots skipped`);
  if (m.failure) parts.push(m.failure);
  return parts.length ? parts.join('; ') : '0';
}

export function holds(m: Measured): boolean {
  const r = m.result;
  if (!r || m.failure) return false;
  const e = r.errors;
  const errors =
    e.failedTokens + e.failedConnect + e.notInWorld + e.closedBeforeMeasure + e.closedDuringMeasure;
  // Latency only covers the moves that arrived: a node that falls behind sends only the latest move of a
  // user and the older ones vanish from the samples. So a scenario also needs (almost) every move seen.
  return (
    errors === 0 &&
    r.latencyMs.p99 !== null &&
    r.latencyMs.p99 < GOAL_P99_MS &&
    r.skippedPct !== null &&
    r.skippedPct < MAX_NEVER_SEEN_PCT
  );
}

/** The results table; `cellSize` is the interest cell of the `on:` scenarios. */
export function table(rows: Measured[], cellSize: string): string {
  const head = [
    'scenario',
    'N',
    'interest mgmt',
    'moves sent/s',
    'position updates delivered/s',
    'moves never seen %',
    'p50 ms',
    'p99 ms',
    'max ms',
    'bytes/s to clients',
    'node CPU %',
    'node RSS MB',
    'loadgen CPU %',
    'errors',
  ];
  const body: (string | number)[][] = [];
  for (const m of rows) {
    const r = m.result;
    body.push([
      m.scenario.name,
      m.scenario.clients,
      m.scenario.interest ? `on (cell ${cellSize})` : 'off',
      thousands(r?.movesSentPerSec),
      thousands(r?.deliveredToOthersPerSec),
      fmt(r?.skippedPct, 1),
      fmt(r?.latencyMs.p50, 1),
      fmt(r?.latencyMs.p99, 1),
      fmt(r?.latencyMs.max, 1),
      mbps(r?.bytesPerSec),
      fmt(m.nodeCpuPct),
      fmt(m.nodeRssMaxMB),
      fmt(r?.loadgen.cpuPct),
      errorsOf(m),
    ]);
  }
  return markdownTable(head, body, 'left');
}

export function detailTable(rows: Measured[]): string {
  const head = [
    'scenario',
    'setup s (of which entering)',
    'node CPU-s: start / guest tokens / entering',
    'frames/s to clients',
    'entries/s (exact, incl. own echo)',
    'per observer: others/s',
    'observer-scaled delivered/s',
    'latency samples',
    'p90 ms',
    'node CPU user / kernel %',
    'node loop delay p99 / max ms',
    'loadgen loop delay p99 / max ms',
    'machine busy %',
    'irq+softirq / steal % of a core',
    'other processes CPU %',
  ];
  const body: (string | number)[][] = [];
  for (const m of rows) {
    const r = m.result;
    body.push([
      m.scenario.name,
      r
        ? `${fmt(r.setupMs / 1000, 1)} (${fmt(r.enterMs === undefined ? undefined : r.enterMs / 1000, 1)})`
        : '–',
      m.nodeSetupCpuS === undefined
        ? '–'
        : `${fmt(m.nodeStartCpuS, 1)} / ${fmt((m.nodeTokensCpuS ?? 0) - (m.nodeStartCpuS ?? 0), 1)} / ${fmt(m.nodeSetupCpuS - (m.nodeTokensCpuS ?? 0), 1)}`,
      thousands(r?.framesPerSec),
      thousands(r?.entriesPerSec),
      thousands(r?.observerOthersPerSec),
      thousands(r?.deliveredScaledPerSec),
      thousands(r?.observer.samples),
      fmt(r?.latencyMs.p90, 1),
      m.nodeSysPct === undefined || m.nodeCpuPct === undefined
        ? '–'
        : `${fmt(m.nodeCpuPct - m.nodeSysPct)} / ${fmt(m.nodeSysPct)}`,
      m.nodeLoop ? `${fmt(m.nodeLoop.p99Ms, 1)} / ${fmt(m.nodeLoop.maxMs, 1)}` : '–',
      r ? `${fmt(r.loadgen.eventLoopDelayP99Ms, 1)} / ${fmt(r.loadgen.eventLoopDelayMaxMs, 1)}` : '–',
      fmt(m.machineBusyPct),
      `${fmt(m.softirqPct)} / ${fmt(m.stealPct)}`,
      m.otherTop ? `${fmt(m.otherCpuPct)} (${m.otherTop})` : fmt(m.otherCpuPct),
    ]);
  }
  return markdownTable(head, body, 'left');
}

// ---- node against the floor ----------------------------------------------------------------------------

/** Server CPU (ms) per million position updates delivered to other clients. */
export function cpuPerMillion(m: Measured): number | undefined {
  const delivered = m.result?.deliveredToOthersPerSec;
  if (m.nodeCpuPct === undefined || !delivered) return undefined;
  return ((m.nodeCpuPct / 100) * 1000 * 1e6) / delivered;
}

/**
 * Delivered %: with everyone seeing everyone, the share of (moves sent × others in the world) that
 * arrived; with interest management, the observers' share of their neighbours' moves seen.
 */
export function deliveredPct(m: Measured): number | undefined {
  const r = m.result;
  if (!r) return undefined;
  if (m.scenario.interest) return r.skippedPct === null ? undefined : 100 - r.skippedPct;
  const expected = r.movesSentPerSec * (r.inWorld - 1);
  return expected ? Math.min(100, (r.deliveredToOthersPerSec / expected) * 100) : undefined;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export function floorTable(pairs: { node: Measured; floor: Measured }[]): string {
  const head = [
    'N',
    'runs',
    'floor CPU-ms / 1M delivered',
    'node CPU-ms / 1M delivered',
    'node ÷ floor (median, min–max)',
    'delivered % floor / node',
    'p99 ms floor / node',
    'RSS MB floor / node',
  ];
  const body: (string | number)[][] = [];
  const byN = new Map<string, { node: Measured; floor: Measured }[]>();
  for (const pair of pairs) {
    const key = pair.node.scenario.name;
    byN.set(key, [...(byN.get(key) ?? []), pair]);
  }
  for (const [name, group] of byN) {
    const floorCpu = group.map((p) => cpuPerMillion(p.floor)).filter((v) => v !== undefined);
    const nodeCpu = group.map((p) => cpuPerMillion(p.node)).filter((v) => v !== undefined);
    const ratios = group
      .map((p) => {
        const f = cpuPerMillion(p.floor);
        const n = cpuPerMillion(p.node);
        return f && n ? n / f : undefined;
      })
      .filter((v) => v !== undefined);
    const list = (values: (number | undefined | null)[], digits = 0) =>
      values.map((v) => fmt(v, digits)).join(', ');
    body.push([
      name,
      group.length,
      list(floorCpu),
      list(nodeCpu),
      ratios.length
        ? `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`
        : '–',
      `${list(
        group.map((p) => deliveredPct(p.floor)),
        1,
      )} / ${list(
        group.map((p) => deliveredPct(p.node)),
        1,
      )}`,
      `${list(
        group.map((p) => p.floor.result?.latencyMs.p99),
        1,
      )} / ${list(
        group.map((p) => p.node.result?.latencyMs.p99),
        1,
      )}`,
      `${list(group.map((p) => p.floor.nodeRssMaxMB))} / ${list(group.map((p) => p.node.nodeRssMaxMB))}`,
    ]);
  }
  return markdownTable(head, body, 'left');
}

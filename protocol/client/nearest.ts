/**
 * `connectNearest(baseUrl, { world, ... })`: asks a node which nodes serve a world best for this caller
 * (`GET /api/v4/nodes/nearest`), measures the round trip to the best few (`GET /health`, in parallel, each
 * with a timeout), then connects to the fastest and enters the world, falling back to the next candidate
 * whenever one fails (unreachable, handshake refused, world not entered). The base node itself is the last
 * resort: any node serves any world (it mirrors it on demand), so the choice is an optimisation only.
 * Uses only fetch, AbortSignal and performance: browsers and Node alike.
 */
import type { SetWorld, Umid } from '../posbus/index.ts';
import { connect, type PosbusClient } from './client.ts';
import { PosbusClientError } from './errors.ts';
import { asError, type ConnectOptions } from './types.ts';

/** A candidate as `GET /api/v4/nodes/nearest` describes it (the fields the SDK relies on). */
export interface NearestCandidate {
  peerId: string;
  name: string;
  /** The node's public http(s) URL. */
  url: string;
  hostsWorld: boolean;
  reason: string;
  [more: string]: unknown;
}

export interface Credentials {
  token: string;
  userId: Umid;
}

export interface NearestOptions extends Omit<ConnectOptions, 'token' | 'userId'> {
  world: Umid;
  /**
   * Credentials for a node. Tokens are issued per node, so for anything but the base node this usually
   * signs in there (a guest token, a wallet signature). Default: `token` and `userId` for every node.
   */
  signIn?: (nodeUrl: string) => Promise<Credentials>;
  token?: string;
  userId?: Umid;
  /** Candidates asked for; default 5. */
  limit?: number;
  /** How many of the best candidates are probed; default 3. */
  probe?: number;
  /** How long a probe may take; default 2000 ms. */
  probeTimeoutMs?: number;
  /**
   * Round trips within this many ms of each other count as equal, and the node's own order (which weighs
   * load) decides between them; default 20.
   */
  rttToleranceMs?: number;
  /** Headers for the candidates request (e.g. a client geo header, where the operator allows it). */
  headers?: Record<string, string>;
  /** Enter `world` after connecting (and count a refusal as a failure); default true. */
  enter?: boolean;
  signal?: AbortSignal;
}

export interface NearestAttempt {
  url: string;
  /** Measured round trip to `/health`, ms; null when not probed or the probe failed. */
  rttMs: number | null;
  error?: string;
}

export interface NearestConnection {
  client: PosbusClient;
  /** The node connected to (the base node as `{ url }` only, when it was the fallback). */
  node: NearestCandidate | { url: string };
  /** SetWorld of `world` (undefined with `enter: false`). */
  world: SetWorld | undefined;
  /** Every candidate in the order tried, with its round trip and why it failed, if it did. */
  attempts: NearestAttempt[];
  /** The candidates the base node offered, best first by its ranking. */
  candidates: NearestCandidate[];
}

export class NoNodeReachableError extends PosbusClientError {
  override readonly name = 'NoNodeReachableError';
  readonly attempts: NearestAttempt[];

  constructor(attempts: NearestAttempt[]) {
    super(`no node could be connected to: ${attempts.map((a) => `${a.url} (${a.error})`).join(', ')}`);
    this.attempts = attempts;
  }
}

const trimUrl = (url: string) => url.replace(/\/+$/, '');

/** The candidates `baseUrl` offers; [] when it cannot say (an older node, a network error). */
export async function nearestCandidates(
  baseUrl: string,
  world: Umid,
  opts: { limit?: number; headers?: Record<string, string>; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<NearestCandidate[]> {
  const query = `world=${encodeURIComponent(world)}&limit=${opts.limit ?? 5}`;
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 5000);
  try {
    const res = await fetch(`${trimUrl(baseUrl)}/api/v4/nodes/nearest?${query}`, {
      headers: opts.headers,
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
    if (!res.ok) return [];
    const body = (await res.json()) as { candidates?: unknown };
    if (!Array.isArray(body.candidates)) return [];
    return body.candidates.filter(
      (c): c is NearestCandidate => typeof c?.url === 'string' && /^https?:\/\//.test(c.url),
    );
  } catch (error) {
    if (opts.signal?.aborted) throw error;
    return [];
  }
}

/** Round trip of `GET <url>/health` in ms, or the error when it did not answer in time. */
export async function probeNode(url: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  // `no-cors`: a browser then needs no CORS from the probed node; an opaque answer still times the trip.
  const res = await fetch(`${trimUrl(url)}/health`, {
    mode: 'no-cors',
    cache: 'no-store',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const rtt = performance.now() - started;
  await res.body?.cancel();
  return rtt;
}

/**
 * The order to try: probed nodes that answered, by round trip in bands of `toleranceMs` (the node's
 * ranking within a band), then the ones not probed (node's order), then the ones whose probe failed.
 */
export function tryOrder<T extends { url: string }>(
  candidates: T[],
  rtts: (number | null | Error)[],
  toleranceMs: number,
): { candidate: T; rtt: number | null; probeError?: string }[] {
  const rows = candidates.map((candidate, rank) => {
    const r = rtts[rank];
    return {
      candidate,
      rank,
      rtt: typeof r === 'number' ? r : null,
      probeError: r instanceof Error ? r.message : undefined,
    };
  });
  const tier = (row: (typeof rows)[number]) => (row.rtt !== null ? 0 : row.probeError ? 2 : 1);
  const band = (row: (typeof rows)[number]) =>
    row.rtt === null ? 0 : Math.floor(row.rtt / Math.max(1, toleranceMs));
  rows.sort((a, b) => tier(a) - tier(b) || band(a) - band(b) || a.rank - b.rank);
  return rows.map(({ candidate, rtt, probeError }) => ({ candidate, rtt, probeError }));
}

export async function connectNearest(baseUrl: string, opts: NearestOptions): Promise<NearestConnection> {
  const { world, signIn, limit, probe = 3, probeTimeoutMs = 2000, rttToleranceMs = 20 } = opts;
  const credentials =
    signIn ??
    (async (): Promise<Credentials> => {
      if (!opts.token || !opts.userId)
        throw new PosbusClientError('connectNearest needs signIn, or token and userId');
      return { token: opts.token, userId: opts.userId };
    });
  const candidates = await nearestCandidates(baseUrl, world, {
    limit,
    headers: opts.headers,
    signal: opts.signal,
  });
  const probed = await Promise.all(
    candidates.map((c, i) =>
      i < probe ? probeNode(c.url, probeTimeoutMs, opts.signal).catch((e: unknown) => asError(e)) : null,
    ),
  );
  const order: { candidate: NearestCandidate | { url: string }; rtt: number | null; probeError?: string }[] =
    tryOrder(candidates, probed, rttToleranceMs);
  const base = trimUrl(baseUrl);
  if (!candidates.some((c) => trimUrl(c.url) === base)) order.push({ candidate: { url: base }, rtt: null });

  const attempts: NearestAttempt[] = [];
  for (const { candidate, rtt, probeError } of order) {
    opts.signal?.throwIfAborted();
    const attempt: NearestAttempt = {
      url: candidate.url,
      rttMs: rtt === null ? null : Math.round(rtt * 10) / 10,
    };
    attempts.push(attempt);
    let client: PosbusClient | undefined;
    try {
      const { token, userId } = await credentials(candidate.url);
      client = await connect(`${trimUrl(candidate.url)}/posbus`, { ...opts, token, userId });
      const entered =
        opts.enter === false ? undefined : await client.teleport(world, { signal: opts.signal });
      return { client, node: candidate, world: entered, attempts, candidates };
    } catch (error) {
      await client?.close();
      attempt.error = probeError ? `probe: ${probeError}; ${asError(error).message}` : asError(error).message;
    }
  }
  throw new NoNodeReachableError(attempts);
}

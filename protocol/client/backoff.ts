/** Reconnect policy: exponential backoff with jitter (SPEC §7: the reference client waits a flat 1 s). */

export interface ReconnectOptions {
  /** Delay before the first attempt; doubles each failed attempt. Default 1000 (the reference client's). */
  initialDelayMs?: number;
  /** Upper bound of the delay. Default 30000. */
  maxDelayMs?: number;
  /** Attempts after one lost connection before giving up; counting restarts on success. Default Infinity. */
  maxAttempts?: number;
}

export type ReconnectPolicy = Required<ReconnectOptions>;

export function reconnectPolicy(opts: ReconnectOptions | false | undefined): ReconnectPolicy | undefined {
  if (opts === false) return undefined;
  const initialDelayMs = Math.max(0, opts?.initialDelayMs ?? 1000);
  return {
    initialDelayMs,
    maxDelayMs: Math.max(initialDelayMs, opts?.maxDelayMs ?? 30_000),
    maxAttempts: opts?.maxAttempts ?? Number.POSITIVE_INFINITY,
  };
}

/**
 * Delay before attempt `attempt` (1-based): "equal jitter" — half fixed, half random — so a server restart
 * does not get every client back in the same millisecond, yet no client retries almost immediately.
 */
export function backoffDelay(
  policy: ReconnectPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/**
 * The first line of an error's message: what the status route and the log show. Kept apart from the
 * adapters so the harvester loop need not import viem (harvester/lazy-adapter.ts); viem's errors are
 * recognised by their `shortMessage`.
 */
export function errorText(error: unknown): string {
  const short = (error as { shortMessage?: unknown } | null)?.shortMessage;
  if (error instanceof Error && typeof short === 'string') return short || error.message.split('\n')[0];
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}

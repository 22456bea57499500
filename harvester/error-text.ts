/**
 * The first line of an error's message: what the status route and the log show (kept apart from the adapters
 * so the harvester loop need not import viem; see lazy-adapter.ts). Chain clients throw more
 * than `Error`s: viem's errors carry a one-line `shortMessage`, and the Substrate provider emits plain
 * objects (a `message`, or a socket event with a `type`).
 */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const short = (error as { shortMessage?: unknown }).shortMessage;
    return typeof short === 'string' && short ? short : error.message.split('\n')[0];
  }
  if (error && typeof error === 'object' && 'message' in error) return String(error.message);
  if (error && typeof error === 'object' && 'type' in error) return `socket ${String(error.type)}`;
  return String(error);
}

/**
 * The JSON-RPC calls the EVM adapter makes, over viem, with the retry policy the adapter wants: viem's
 * own transport retries are off (they would retry a refused getLogs range three times before we could
 * shrink it), and transient failures are retried here a few times with a short delay before a step fails.
 */
import {
  BaseError,
  BlockNotFoundError,
  type Client,
  createPublicClient,
  HttpRequestError,
  http,
  numberToHex,
  type PublicClient,
  RpcRequestError,
  TimeoutError,
  webSocket,
} from 'viem';
import type { RawLog } from './abi.ts';

export interface Header {
  number: number;
  hash: string;
  parentHash: string;
}

export interface EvmRpcOptions {
  url: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Transient failures retried per call before giving up. */
  retries?: number;
}

export class EvmRpc {
  readonly client: PublicClient;
  readonly websocket: boolean;
  private readonly retries: number;

  constructor(opts: EvmRpcOptions) {
    this.websocket = /^wss?:/.test(opts.url);
    const timeout = opts.timeoutMs ?? 15_000;
    this.retries = opts.retries ?? 2;
    this.client = createPublicClient({
      transport: this.websocket
        ? webSocket(opts.url, { retryCount: 0, timeout })
        : http(opts.url, { retryCount: 0, timeout }),
      // A cached head would look like a stalled chain (NOTES.md B.2).
      cacheTime: 0,
    });
  }

  chainId(): Promise<number> {
    return this.retry(() => this.client.getChainId());
  }

  async head(): Promise<number> {
    return Number(await this.retry(() => this.client.getBlockNumber({ cacheTime: 0 })));
  }

  async finalized(): Promise<number> {
    const b = await this.retry(() => this.client.getBlock({ blockTag: 'finalized' }));
    return Number(b.number);
  }

  /** The header at a height, or undefined when the chain is not that long (e.g. after a rollback). */
  async header(height: number): Promise<Header | undefined> {
    try {
      const b = await this.retry(() => this.client.getBlock({ blockNumber: BigInt(height) }));
      return { number: Number(b.number), hash: b.hash.toLowerCase(), parentHash: b.parentHash.toLowerCase() };
    } catch (e) {
      if (e instanceof BlockNotFoundError) return undefined;
      throw e;
    }
  }

  /**
   * eth_getLogs over [from, to]. Transient failures are retried here; a refusal of the range is not (the
   * adapter answers it with a smaller range).
   */
  getLogs(from: number, to: number, address: string[], topics: string[]): Promise<RawLog[]> {
    const call = () =>
      this.client.request({
        method: 'eth_getLogs',
        params: [
          {
            fromBlock: numberToHex(from),
            toBlock: numberToHex(to),
            address: address as `0x${string}`[],
            topics: [topics as `0x${string}`[]],
          },
        ],
      }) as Promise<RawLog[]>;
    return this.retry(call, (e) => !isRangeRefusal(e));
  }

  async balance(address: string, height: number): Promise<bigint> {
    return this.retry(() =>
      this.client.getBalance({ address: address as `0x${string}`, blockNumber: BigInt(height) }),
    );
  }

  /** Calls `onHead` for every new head the node pushes (WebSocket only). Returns the unsubscribe. */
  watchHeads(onHead: (n: number) => void, onError: (e: Error) => void): () => void {
    return this.client.watchBlockNumber({
      emitMissed: false,
      onBlockNumber: (n) => onHead(Number(n)),
      onError,
    });
  }

  async close(): Promise<void> {
    if (!this.websocket) return;
    const transport = (this.client as Client).transport as {
      getRpcClient?: () => Promise<{ close(): void }>;
    };
    try {
      (await transport.getRpcClient?.())?.close();
    } catch {
      // never connected
    }
  }

  private async retry<T>(fn: () => Promise<T>, retryable = (_: unknown) => true): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= this.retries || e instanceof BlockNotFoundError || !retryable(e)) throw e;
        await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
      }
    }
  }
}

/**
 * Whether a getLogs failure looks like the RPC refusing the size of the range (a JSON-RPC error such as
 * -32005 "limit exceeded" or "block range too large", a 400/413, or a timeout) rather than the RPC being
 * down or rate-limiting: only the former is answered by asking for a smaller range.
 */
export function isRangeRefusal(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  const found = error.walk(
    (e) => e instanceof RpcRequestError || e instanceof TimeoutError || e instanceof HttpRequestError,
  );
  if (found instanceof RpcRequestError || found instanceof TimeoutError) return true;
  return found instanceof HttpRequestError && (found.status === 400 || found.status === 413);
}

export { errorText } from '../error-text.ts';

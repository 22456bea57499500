/**
 * A loopback JSON-RPC proxy in front of anvil that behaves like hosted RPCs do on a bad day: refuses
 * eth_getLogs ranges above a limit (JSON-RPC error -32005, as providers answer), and/or fails every n-th
 * call with HTTP 503.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyOptions {
  /** Largest eth_getLogs block range answered; larger ones get a -32005 error. */
  maxLogRange?: number;
  /** Every n-th request fails with HTTP 503 (2 = every second call). */
  failEvery?: number;
}

export interface RpcProxy {
  url: string;
  /** getLogs ranges asked for, in order. */
  ranges: number[];
  refused: number;
  failed: number;
  close(): Promise<void>;
}

export async function startProxy(target: string, opts: ProxyOptions): Promise<RpcProxy> {
  let calls = 0;
  const proxy = { ranges: [] as number[], refused: 0, failed: 0 };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    calls++;
    if (opts.failEvery && calls % opts.failEvery === 0) {
      proxy.failed++;
      res.writeHead(503).end('busy');
      return;
    }
    const msg = JSON.parse(body) as {
      id: number;
      method: string;
      params: { fromBlock: string; toBlock: string }[];
    };
    if (msg.method === 'eth_getLogs') {
      const range = Number(BigInt(msg.params[0].toBlock)) - Number(BigInt(msg.params[0].fromBlock)) + 1;
      proxy.ranges.push(range);
      if (opts.maxLogRange && range > opts.maxLogRange) {
        proxy.refused++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: msg.id,
            error: { code: -32005, message: `block range too large: max ${opts.maxLogRange}` },
          }),
        );
        return;
      }
    }
    const upstream = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

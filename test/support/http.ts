/** REST calls against a test node: JSON in, status and JSON out. */
import type { TestNode } from './node.ts';

export interface Reply<T> {
  status: number;
  body: T;
}

/** The original's error body. */
export interface ErrorBody {
  error: { reason: string; message: string };
}

export async function call<T = unknown>(
  node: TestNode,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** The error reason of a reply (undefined when it is not an error body). */
export const reason = (reply: Reply<unknown>) => (reply.body as ErrorBody | undefined)?.error?.reason;

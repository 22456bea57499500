/** REST calls against a test node: JSON (or a multipart FormData) in, status and JSON out. */

/** Anything with a base URL: an in-process test node or a node process. */
export interface HttpTarget {
  url: string;
}

export interface Reply<T> {
  status: number;
  body: T;
}

/** The original's error body. */
export interface ErrorBody {
  error: { reason: string; message: string };
}

export async function call<T = unknown>(
  node: HttpTarget,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  // FormData goes as it is: fetch writes the multipart body and its content-type with the boundary.
  const form = opts.body instanceof FormData;
  if (opts.body !== undefined && !form) headers['content-type'] = 'application/json';
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : form ? (opts.body as FormData) : JSON.stringify(opts.body),
  });
  const text = await res.text();
  // Non-JSON answers (asset downloads) come back as text.
  const isJson = /json/.test(res.headers.get('content-type') ?? 'json');
  return { status: res.status, body: (text ? (isJson ? JSON.parse(text) : text) : undefined) as T };
}

/** The error reason of a reply (undefined when it is not an error body). */
export const reason = (reply: Reply<unknown>) => (reply.body as ErrorBody | undefined)?.error?.reason;

/** JSON over fetch with the node's error body turned into an Error carrying its reason. */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

async function parse<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as { error?: { reason?: string; message?: string } };
  if (!res.ok) {
    throw new ApiError(
      res.status,
      body.error?.reason ?? 'http_error',
      body.error?.message ?? `HTTP ${res.status}`,
    );
  }
  return body as T;
}

const headers = (token?: string): Record<string, string> => ({
  'Content-Type': 'application/json',
  ...(token ? { Authorization: `Bearer ${token}` } : {}),
});

export async function getJson<T>(path: string, token?: string): Promise<T> {
  return parse<T>(await fetch(path, { headers: headers(token) }));
}

export async function postJson<T>(path: string, body: unknown, token?: string): Promise<T> {
  return parse<T>(await fetch(path, { method: 'POST', headers: headers(token), body: JSON.stringify(body) }));
}

/**
 * The HTTP edge against real sockets: an oversized body on a keep-alive connection, slow clients
 * (headers a byte at a time, a stalled body, a slow but moving upload) and the per-address cap on
 * connections, WebSocket upgrades included. Timeouts are configured small so that the suite stays fast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sleep, startNode, type TestNode } from '../support/node.ts';
import { type RawConnection, rawConnect, settlesWithin, statuses } from '../support/raw-socket.ts';

const HEALTH = 'GET /health HTTP/1.1\r\nHost: t\r\n\r\n';

function post(path: string, contentLength: number, extraHeaders = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n${extraHeaders}\r\n`;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('an oversized JSON body on a keep-alive connection', () => {
  let node: TestNode;
  let guestsCreated = 0;
  beforeAll(async () => {
    node = await startNode({ maxBodyBytes: 1024 });
    const users = node.node.users;
    const createGuest = users.createGuest.bind(users);
    users.createGuest = () => {
      guestsCreated++;
      return createGuest();
    };
  });
  afterAll(() => node.cleanup());

  it('gets 413 with Connection: close, then the node closes; nothing pipelined behind it is run', async () => {
    const conn = await rawConnect(node);
    // The whole body and a second request in one write: the node has them all before it answers.
    conn.socket.write(`${post('/api/v4/auth/token', 4096)}${' '.repeat(4096)}`);
    conn.socket.write('POST /api/v4/auth/guest-token HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n');
    expect(await settlesWithin(conn.closed, 3000)).toBe(true);
    const text = conn.received();
    expect(statuses(text)).toEqual([413]);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toContain('"reason":"body_too_large"');
    // The guest-token request behind the refused body was never answered, so it must not have run.
    expect(guestsCreated).toBe(0);
  });

  it('says Connection: close before the client has sent the body, and still answers the next connection', async () => {
    const conn = await rawConnect(node);
    conn.socket.write(post('/api/v4/auth/token', 8 * 1024 * 1024));
    await waitFor('the 413', () => statuses(conn.received()).length > 0);
    expect(conn.received()).toMatch(/\r\nconnection: close\r\n/i);
    // Whatever the client still sends, the connection ends.
    conn.socket.write(' '.repeat(64 * 1024));
    expect(await settlesWithin(conn.closed, 3000)).toBe(true);

    const next = await rawConnect(node);
    next.socket.write(HEALTH);
    await waitFor('the health answer', () => statuses(next.received()).length > 0);
    expect(statuses(next.received())).toEqual([200]);
    next.socket.destroy();
  });

  it('closes the connection after any answer given before the body arrived (401 here)', async () => {
    const conn = await rawConnect(node);
    const before = guestsCreated;
    conn.socket.write(post('/api/v4/worlds', 900));
    conn.socket.write('{"name":');
    await waitFor('the 401', () => statuses(conn.received()).length > 0);
    expect(statuses(conn.received())).toEqual([401]);
    expect(conn.received()).toMatch(/\r\nconnection: close\r\n/i);
    conn.socket.write(
      `${' '.repeat(892)}POST /api/v4/auth/guest-token HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n`,
    );
    expect(await settlesWithin(conn.closed, 3000)).toBe(true);
    expect(statuses(conn.received())).toEqual([401]);
    expect(guestsCreated).toBe(before);
  });

  it('keeps the connection when an unread body had arrived in full', async () => {
    const conn = await rawConnect(node);
    conn.socket.write(
      `POST /api/v4/auth/guest-token HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}${HEALTH}`,
    );
    await waitFor('two answers', () => statuses(conn.received()).length === 2);
    expect(statuses(conn.received())).toEqual([200, 200]);
    expect(conn.isClosed()).toBe(false);
    conn.socket.destroy();
  });

  it('keeps the connection for the next request after a body within the limit', async () => {
    const conn = await rawConnect(node);
    const body = JSON.stringify({ wallet: 'nonsense', signedChallenge: '0x00', nonce: 'x' });
    conn.socket.write(`${post('/api/v4/auth/token', Buffer.byteLength(body))}${body}${HEALTH}`);
    await waitFor('two answers', () => statuses(conn.received()).length === 2);
    expect(statuses(conn.received())).toEqual([400, 200]);
    expect(conn.isClosed()).toBe(false);
    conn.socket.destroy();
  });
});

describe('slow clients', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startNode({ httpHeadersTimeoutMs: 300, httpIdleBodyTimeoutMs: 300 });
  });
  afterAll(() => node.cleanup());

  it('closes a connection whose headers arrive a byte at a time (slowloris)', async () => {
    const conn = await rawConnect(node);
    const started = Date.now();
    const header = 'GET /health HTTP/1.1\r\nHost: t\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    let i = 0;
    const dribble = setInterval(() => {
      if (!conn.isClosed() && i < header.length) conn.socket.write(header[i++]);
    }, 50);
    try {
      expect(await settlesWithin(conn.closed, 3000)).toBe(true);
    } finally {
      clearInterval(dribble);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(i).toBeLessThan(header.length);
  });

  it('closes a connection that sends nothing at all', async () => {
    const conn = await rawConnect(node);
    expect(await settlesWithin(conn.closed, 3000)).toBe(true);
  });

  it('cuts a request whose body stalls', async () => {
    const conn = await rawConnect(node);
    conn.socket.write(`${post('/api/v4/auth/token', 200)}{"wallet":`);
    const started = Date.now();
    expect(await settlesWithin(conn.closed, 3000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(statuses(conn.received())).toEqual([]);
  });

  it('lets a slow body through as long as it keeps moving', async () => {
    const conn = await rawConnect(node);
    const body = JSON.stringify({ wallet: 'nonsense', signedChallenge: '0x00', nonce: 'x' }).padEnd(120, ' ');
    conn.socket.write(post('/api/v4/auth/token', body.length));
    const started = Date.now();
    // 12 pieces 150 ms apart: 1.8 s in all, six times the idle timeout, never idle for half of it.
    for (let i = 0; i < body.length; i += 10) {
      expect(conn.isClosed(), `closed after ${Date.now() - started} ms`).toBe(false);
      conn.socket.write(body.slice(i, i + 10));
      await sleep(150);
    }
    await waitFor('the answer', () => statuses(conn.received()).length > 0);
    expect(Date.now() - started).toBeGreaterThan(1000);
    // Read through: the wallet is nonsense, which is the handler's answer, not the edge's.
    expect(statuses(conn.received())).toEqual([400]);
    conn.socket.destroy();
  });
});

describe('connections per client address', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startNode({ maxConnectionsPerAddress: 3 });
  });
  afterAll(() => node.cleanup());

  async function answered(conn: RawConnection): Promise<number[]> {
    const before = statuses(conn.received()).length;
    conn.socket.write(HEALTH);
    await waitFor('an answer', () => statuses(conn.received()).length > before || conn.isClosed());
    return statuses(conn.received()).slice(before);
  }

  it('closes one connection over the cap at once and keeps serving the others', async () => {
    const open = [await rawConnect(node), await rawConnect(node), await rawConnect(node)];
    const refused = await rawConnect(node);
    expect(await settlesWithin(refused.closed, 2000)).toBe(true);
    for (const conn of open) expect(await answered(conn)).toEqual([200]);

    // A slot freed is a slot for the next connection.
    open[0].socket.destroy();
    await open[0].closed;
    await sleep(50);
    const again = await rawConnect(node);
    expect(await answered(again)).toEqual([200]);
    for (const conn of [...open, again]) conn.socket.destroy();
    await Promise.all([...open, again].map((c) => c.closed));
  });

  it('counts PosBus WebSocket connections too', async () => {
    const sockets = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(node.wsUrl);
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );
    try {
      const refused = await rawConnect(node);
      expect(await settlesWithin(refused.closed, 2000)).toBe(true);
      const fourth = new WebSocket(node.wsUrl);
      const outcome = await new Promise<string>((resolve) => {
        fourth.once('open', () => resolve('open'));
        fourth.once('error', () => resolve('refused'));
      });
      expect(outcome).toBe('refused');
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  });

  it('does not cap a trusted proxy, which carries everyone', async () => {
    const proxied = await startNode({ maxConnectionsPerAddress: 1, trustProxy: '127.0.0.1/32' });
    try {
      const conns = [await rawConnect(proxied), await rawConnect(proxied), await rawConnect(proxied)];
      for (const conn of conns) expect(await answered(conn)).toEqual([200]);
      for (const conn of conns) conn.socket.destroy();
    } finally {
      await proxied.cleanup();
    }
  });
});

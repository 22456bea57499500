/**
 * The node's HTTP server (REST and the PosBus upgrade share it), hardened against clients that hold
 * connections without using them:
 *
 * - a request's headers must be complete within `headersTimeoutMs` (answered 408, then closed);
 * - a request body must keep moving: no byte for `idleBodyTimeoutMs` and the connection is cut. This is
 *   an idle timeout, not a cap on the whole request, so a 512 MiB model on a slow link still arrives;
 *   likewise a response the client stopped reading. A handler still working on a complete request is
 *   never cut by it;
 * - at most `maxConnectionsPerAddress` connections per client address (WebSocket upgrades included);
 *   one more is closed at once. A trusted reverse proxy is exempt: it carries everyone's connections.
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { isTrustedProxy, normalizeAddress, type TrustProxy } from './client-address.ts';

/** How long a connection answered early keeps reading (and dropping) what the client still sends. */
const LINGER_MS = 3000;

export interface HttpServerLimits {
  headersTimeoutMs: number;
  idleBodyTimeoutMs: number;
  /** 0 = no cap. */
  maxConnectionsPerAddress: number;
}

export function createHttpServer(
  listener: RequestListener,
  limits: HttpServerLimits,
  trust: TrustProxy,
  logger: Logger,
): Server {
  const log = logger.child({ component: 'http' });
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      // Node's default (300 s for the whole request) would cut long uploads; the idle timeout below
      // replaces it.
      requestTimeout: 0,
      // How often Node looks for connections past the headers timeout (its default, 30 s, would let a
      // slow client keep a 15 s limit for up to 45 s).
      connectionsCheckingInterval: Math.min(1000, Math.max(25, Math.floor(limits.headersTimeoutMs / 5))),
    },
    (req, res) => {
      // A request parsed after a response that closed the connection.
      if (closing(req.socket)) return;
      const waiting = inFlight.get(req.socket);
      if (waiting) waiting.push([req, res]);
      else start(req, res);
    },
  );

  /**
   * Pipelined requests are handled one after the other: a response may close the connection (a 413
   * over an unread body), and then nothing behind it may be processed (RFC 9112 §9.6); Node would
   * otherwise run them and drop their answers.
   */
  const closing = (socket: Socket) => socket.writableEnded || socket.destroyed;
  const inFlight = new WeakMap<Socket, Array<[IncomingMessage, ServerResponse]>>();
  const start = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    inFlight.set(socket, []);
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      const waiting = inFlight.get(socket) ?? [];
      inFlight.delete(socket);
      // Node ends the socket on finishing a `Connection: close` response, before this listener runs.
      if (closing(socket)) return;
      const next = waiting.shift();
      if (!next) return;
      start(...next);
      inFlight.get(socket)?.push(...waiting);
    };
    res.once('finish', finished);
    res.once('close', finished);
    watchIdle(req, res);
    closeIfAnsweredEarly(req, res);
    listener(req, res);
  };

  /**
   * A response that goes out while the request body is still arriving (a 413, a 401 or 429 before the
   * body was read) says `Connection: close`: the unread rest would otherwise stand between the client
   * and its next request, and draining it has no bound the client would know of.
   */
  function closeIfAnsweredEarly(req: IncomingMessage, res: ServerResponse): void {
    const hasBody =
      Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return;
    const writeHead = res.writeHead;
    // Node sends headers only through writeHead (explicitly or implicitly), so this sees every response.
    res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
      if (!req.complete) {
        this.setHeader('Connection', 'close');
        lingerAfter(req.socket);
      }
      return writeHead.apply(this, args);
    } as ServerResponse['writeHead'];
  }

  /**
   * A lingering close: once the early answer is out, only our side is shut, and what the client still
   * sends is read and dropped for a short while. Closing at once would reset the connection under a
   * client that is still writing, and most clients then lose the answer (the 413 they should see).
   */
  function lingerAfter(socket: Socket): void {
    socket.destroySoon = function (this: Socket) {
      this.end();
      const timer = setTimeout(() => this.destroy(), LINGER_MS);
      timer.unref();
      this.once('close', () => clearTimeout(timer));
    };
  }

  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    if (limits.maxConnectionsPerAddress <= 0 || isTrustedProxy(trust, socket.remoteAddress)) return;
    const address = normalizeAddress(socket.remoteAddress);
    if (address === undefined) {
      // Already gone (closed before this ran): nothing to count.
      socket.destroy();
      return;
    }
    const open = perAddress.get(address) ?? 0;
    if (open >= limits.maxConnectionsPerAddress) {
      log.debug({ address, open }, 'connection over the per-address cap closed');
      socket.destroy();
      return;
    }
    perAddress.set(address, open + 1);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  });

  function watchIdle(req: IncomingMessage, res: ServerResponse): void {
    // Node resets the socket's timeout itself between requests (keep-alive); this one lasts until the
    // response is done. On expiry Node emits `timeout` on the request while its body is incomplete,
    // then on the response; when nobody answers either, it destroys the socket.
    req.socket.setTimeout(limits.idleBodyTimeoutMs);
    req.on('timeout', () => {
      // A full buffer means the node stopped reading (backpressure from storage), not the client.
      if (req.readableLength >= req.readableHighWaterMark) return;
      log.info(
        { address: req.socket.remoteAddress, method: req.method, url: req.url },
        'request body stalled; connection cut',
      );
      req.socket.destroy();
    });
    res.on('timeout', () => {
      // Headers not sent yet: the request is complete and the node is still working on it.
      if (!res.headersSent) return;
      log.info(
        { address: req.socket.remoteAddress, method: req.method, url: req.url },
        'client stopped reading the response; connection cut',
      );
      req.socket.destroy();
    });
  }

  return server;
}

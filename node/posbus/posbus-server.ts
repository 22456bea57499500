/**
 * The `/posbus` WebSocket endpoint: accepts upgrades on the node's HTTP server, runs one Session per
 * socket and keeps one session per user (a second connection replaces the first).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { encode, SignalType } from '../../protocol/posbus/index.ts';
import { CloseCode } from './close-codes.ts';
import { Session, type SessionLimits } from './session.ts';
import type { SessionServices } from './session-components.ts';

export const POSBUS_PATH = '/posbus';

/** What the server is given: the HTTP server it upgrades on, and the services its sessions use. */
export interface PosbusServerComponents extends SessionServices {
  http: Server;
}

export class PosbusServer {
  private readonly c: PosbusServerComponents;
  private readonly limits: SessionLimits;
  private readonly wss: WebSocketServer;
  private readonly log: Logger;
  /** userId → its current session */
  private readonly byUser = new Map<string, Session>();
  private readonly all = new Set<Session>();
  /** Leaves in flight (position saves), awaited on stop. */
  private readonly leaving = new Set<Promise<void>>();
  private accepting = false;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    this.upgrade(req, socket, head);

  constructor(components: PosbusServerComponents, limits: SessionLimits) {
    this.c = components;
    this.limits = limits;
    this.log = components.logger.child({ component: 'posbus' });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: Math.max(limits.maxFrameBytes, limits.maxHandshakeBytes),
      perMessageDeflate: false,
    });
  }

  get sessionCount(): number {
    return this.byUser.size;
  }

  /** The users with a live session. */
  onlineUsers(): ReadonlySet<string> {
    return new Set(this.byUser.keys());
  }

  start(): void {
    this.accepting = true;
    this.c.http.on('upgrade', this.onUpgrade);
  }

  /** Stops accepting, tells every session the node is going away, and waits for their leaves to be saved. */
  async stop(): Promise<void> {
    this.accepting = false;
    this.c.http.off('upgrade', this.onUpgrade);
    for (const session of this.all) session.close(CloseCode.GoingAway, 'node shutting down');
    for (const session of this.all) this.unbind(session);
    await Promise.all(this.leaving);
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // The HTTP server drops its own error listener from an upgraded socket; a reset while we answer it
    // (the 503 below) would otherwise be an unhandled 'error' that ends the process. ws adds its own.
    socket.on('error', (error) => this.log.debug({ err: error }, 'upgrade socket error'));
    // Plain string work: `new URL` throws on some request targets, and a throw here would end the process.
    const path = (req.url ?? '/').split('?')[0];
    if (path !== POSBUS_PATH) {
      socket.destroy();
      return;
    }
    if (!this.accepting) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new Session(
        ws,
        {
          ...this.c,
          bind: (s) => this.bind(s),
          unbind: (s) => this.unbind(s),
          resumable: (s, token) => this.resumable(s, token),
        },
        this.limits,
      );
      // Until its end: a dropped session waiting for a resume has no socket but is still a session.
      this.all.add(session);
    });
  }

  private bind(session: Session): void {
    const userId = session.user.id;
    const previous = this.byUser.get(userId);
    this.byUser.set(userId, session);
    if (!previous) return;
    this.track(this.c.worlds.leave(userId));
    if (previous.sessionId === session.sessionId) {
      previous.close(CloseCode.Replaced, 'replaced by a reconnect of the same session');
    } else {
      previous.sendReliable(encode({ type: 'Signal', value: SignalType.DualConnection }));
      previous.close(CloseCode.DualConnection, 'connected again from another session');
    }
  }

  /** The session of the same user and session id that `token` resumes (it may have dropped or not). */
  private resumable(session: Session, token: string): Session | undefined {
    const previous = this.byUser.get(session.user.id);
    if (!previous || previous === session || previous.sessionId !== session.sessionId) return undefined;
    return previous.resumableWith(token) ? previous : undefined;
  }

  private unbind(session: Session): void {
    this.all.delete(session);
    const userId = session.userId;
    if (!userId || this.byUser.get(userId) !== session) return;
    this.byUser.delete(userId);
    this.track(this.c.worlds.leave(userId).then(() => this.c.users.touch(userId, Date.now())));
  }

  private track(work: Promise<void>): void {
    const tracked = work
      .catch((error) => this.log.error({ err: error }, 'leaving a world failed'))
      .finally(() => this.leaving.delete(tracked));
    this.leaving.add(tracked);
  }
}

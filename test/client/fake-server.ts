/**
 * A scripted PosBus server for client tests: a real `ws` server on loopback that decodes frames with the
 * codec and plays SPEC §6.1/§6.2 — expects HandShake, closes with 1008 on a bad token, answers
 * TeleportRequest with SetWorld + MyTransform or Signal{9}. Tests drive everything else by hand.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  decode,
  encode,
  type HandShake,
  type Message,
  type SetWorld,
  SignalType,
} from '../../protocol/posbus/index.ts';

export const BAD_TOKEN = 'bad-token';

export interface ServerConn {
  ws: WebSocket;
  handshake?: HandShake;
  /** Messages after the handshake, in arrival order. */
  received: Message[];
  closed: boolean;
}

export class FakeServer {
  readonly wss: WebSocketServer;
  readonly url: string;
  readonly conns: ServerConn[] = [];
  readonly worlds = new Map<string, SetWorld>();
  /** When set, TeleportRequests get no answer (teleport timeout tests). */
  ignoreTeleports = false;
  readonly #watchers = new Set<() => void>();

  private constructor(wss: WebSocketServer) {
    this.wss = wss;
    this.url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/posbus`;
    wss.on('connection', (ws) => this.#onConnection(ws));
  }

  static start(): Promise<FakeServer> {
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/posbus' });
      wss.once('error', reject);
      wss.once('listening', () => resolve(new FakeServer(wss)));
    });
  }

  addWorld(id: string, name = `world ${id.slice(0, 4)}`): SetWorld {
    const world: SetWorld = { type: 'SetWorld', id, name, avatar: id, owner: id, avatar3dAssetId: id };
    this.worlds.set(id, world);
    return world;
  }

  send(conn: ServerConn, message: Message): void {
    conn.ws.send(encode(message));
  }

  sendRaw(conn: ServerConn, data: Uint8Array | string): void {
    conn.ws.send(data);
  }

  /** Resolves with the first truthy value of `probe`, re-checked after every server-side event. */
  waitFor<T>(probe: () => T | undefined | false | null | 0, timeoutMs = 2000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (!value) return;
        cleanup();
        resolve(value as T);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`FakeServer.waitFor timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#watchers.delete(check);
      };
      this.#watchers.add(check);
      check();
    });
  }

  /** The n-th connection (0-based) once its HandShake arrived. */
  handshaken(n: number, timeoutMs?: number): Promise<ServerConn> {
    return this.waitFor(() => {
      const conn = this.conns[n];
      return conn?.handshake ? conn : undefined;
    }, timeoutMs);
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  #notify(): void {
    for (const check of [...this.#watchers]) check();
  }

  #onConnection(ws: WebSocket): void {
    const conn: ServerConn = { ws, received: [], closed: false };
    this.conns.push(conn);
    ws.on('close', () => {
      conn.closed = true;
      this.#notify();
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary || !Buffer.isBuffer(data)) {
        ws.close(1008, 'binary frames only');
        return;
      }
      const message = decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (!conn.handshake) {
        if (message.type !== 'HandShake') ws.close(1008, 'expected HandShake');
        else {
          conn.handshake = message;
          if (message.token === BAD_TOKEN) ws.close(1008, 'invalid token');
        }
      } else {
        conn.received.push(message);
        if (message.type === 'TeleportRequest' && !this.ignoreTeleports) this.#teleport(conn, message.target);
      }
      this.#notify();
    });
    this.#notify();
  }

  #teleport(conn: ServerConn, target: string): void {
    const world = this.worlds.get(target);
    if (!world) {
      this.send(conn, { type: 'Signal', value: SignalType.WorldDoesNotExist });
      return;
    }
    this.send(conn, world);
    const zero = { x: 0, y: 0, z: 0 };
    this.send(conn, { type: 'MyTransform', position: zero, rotation: zero });
  }
}

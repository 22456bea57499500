/**
 * Test harness: a real node (LevelDB in a temp dir, HTTP + PosBus on a free loopback port) and real
 * WebSocket clients from the SDK.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { OdysseyNode } from '../../composition/main.ts';
import { loadConfig, type NodeConfig } from '../../node/config.ts';
import { CORE_PLUGIN_ID } from '../../node/world/render.ts';
import type { WorldStore } from '../../node/world/world-store.ts';
import {
  type ConnectOptions,
  connect,
  type PosbusClient,
  type WebSocketCtor,
} from '../../protocol/client/index.ts';
import { encode, type Message } from '../../protocol/posbus/index.ts';

export interface TestNode {
  node: OdysseyNode;
  dir: string;
  url: string;
  wsUrl: string;
  /** Stops the node; the data dir stays until `cleanup`. */
  stop(): Promise<void>;
  /** A fresh node on the same data dir. */
  restart(overrides?: Partial<NodeConfig>): Promise<TestNode>;
  cleanup(): Promise<void>;
}

export async function startNode(overrides: Partial<NodeConfig> = {}, dir?: string): Promise<TestNode> {
  const dataDir = dir ?? (await mkdtemp(join(tmpdir(), 'odyssey-test-')));
  const config = loadConfig({
    flags: {
      data: dataDir,
      host: '127.0.0.1',
      port: 0,
      p2pPort: 0,
      p2pWsPort: 0,
      logLevel: 'silent',
      ...overrides,
    },
  });
  const node = new OdysseyNode(config);
  await node.start();
  const url = node.url;
  const harness: TestNode = {
    node,
    dir: dataDir,
    url,
    wsUrl: `${url.replace('http', 'ws')}/posbus`,
    stop: () => node.stop(),
    restart: async (more = {}) => {
      await node.stop();
      return startNode({ ...overrides, ...more }, dataDir);
    },
    cleanup: async () => {
      await node.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

export interface Guest {
  id: string;
  name: string;
  token: string;
}

/** Where a node answers: an in-process test node or a node process. */
export interface NodeAddress {
  url: string;
  wsUrl: string;
}

export async function guest(node: Pick<NodeAddress, 'url'>): Promise<Guest> {
  const res = await fetch(`${node.url}/api/v4/auth/guest-token`, { method: 'POST', body: '{}' });
  if (!res.ok) throw new Error(`guest-token: ${res.status}`);
  return (await res.json()) as Guest;
}

/** A connected SDK client of a fresh guest, recording every message it receives. */
export interface TestClient {
  client: PosbusClient;
  user: Guest;
  received: Message[];
}

export async function connectGuest(
  node: NodeAddress,
  opts: Partial<ConnectOptions> = {},
  user?: Guest,
): Promise<TestClient> {
  const who = user ?? (await guest(node));
  const client = await connect(node.wsUrl, { token: who.token, userId: who.id, reconnect: false, ...opts });
  const received: Message[] = [];
  client.on('message', (m) => received.push(m));
  return { client, user: who, received };
}

/** Resolves when `predicate` holds, polling; fails after `timeoutMs`. */
export async function eventually(
  predicate: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `ws` WebSocket, remembering every socket it made: the test cuts their TCP connections and reads raw frames. */
export function trackedWebSocket() {
  const sockets: WebSocket[] = [];
  const frames: Uint8Array[] = [];
  class Tracked extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
      this.on('message', (data) => frames.push(new Uint8Array(data as Buffer)));
    }
  }
  return {
    ctor: Tracked as unknown as WebSocketCtor,
    sockets,
    frames,
    /** Destroys the TCP socket under the newest WebSocket: no closing handshake, as a network cut. */
    cut() {
      (sockets.at(-1) as unknown as { _socket: { destroy(): void } })._socket.destroy();
    },
  };
}

/** A HandShake frame for a raw socket: `version` 2 announces a SessionRequest behind it (our extension). */
export function handshakeFrame(
  user: { token: string; id: string },
  sessionId = '018f0000-0000-7000-8000-000000000001',
  version = 1,
): Uint8Array {
  return encode({
    type: 'HandShake',
    handshakeVersion: version,
    protocolVersion: 1,
    token: user.token,
    userId: user.id,
    sessionId,
  });
}

/** A fresh guest connected and in `worldId`; the client is added to `clients` for the test's cleanup. */
export async function joinWorld(
  node: NodeAddress,
  clients: TestClient[],
  worldId: string,
): Promise<TestClient> {
  const c = await connectGuest(node);
  clients.push(c);
  await c.client.teleport(worldId);
  return c;
}

/**
 * A world named 'Big' of `objects` objects under its root, every 50th with a core attribute: what world
 * sync tests mirror (bigger than a few sync windows when asked).
 */
export async function seedWorld(store: WorldStore, worldId: string, ownerId: string, objects: number) {
  await store.apply(store.objectOp(worldId, worldId, { name: 'Big', ownerId, parentId: '' }, ownerId));
  for (let i = 0; i < objects; i++) {
    const id = randomUUID();
    await store.apply(store.objectOp(worldId, id, { parentId: worldId, ownerId, name: `o${i}` }, ownerId));
    if (i % 50 === 0)
      await store.apply(
        store.attributeOp(worldId, id, CORE_PLUGIN_ID, 'object_color', { value: `#${i}` }, ownerId),
      );
  }
}

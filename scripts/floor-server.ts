/**
 * The floor: the least a PosBus position server can do, to measure the node against (scripts/bench-load.ts
 * runs both side by side). A bare `ws` server that keeps each connection's latest pose and, every tick,
 * encodes the movers once as UsersTransformList frames and sends those same frames to everyone. No
 * database, no auth, no interest management, no limits: one encode per tick, one `send` per client.
 *
 * It speaks just enough for scripts/load-generator.ts: `POST /api/v4/auth/guest-token` hands out an id
 * (the token is not checked), `/posbus` takes HandShake, TeleportRequest (answered with SetWorld) and
 * MyTransform. Like the node it drops position frames for a client whose socket has more than
 * `--backlog-bytes` queued (latest wins), so both are judged on the same rule.
 *
 *   node scripts/floor-server.ts --port 0          # prints {"msg":"odyssey node started","url":...}
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { InterestGrid } from '../node/world/interest.ts';
import {
  decode,
  encode,
  joinUsersTransformLists,
  NIL_UMID,
  type UserTransform,
} from '../protocol/posbus/index.ts';

const { values: opts } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'tick-ms': { type: 'string', default: '100' },
    /** Users per frame, as the node's --position-batch. */
    batch: { type: 'string', default: '512' },
    'backlog-bytes': { type: 'string', default: String(256 * 1024) },
    /** Interest cell side, as the node's --interest-cell-size; 0 = everyone sees everyone. */
    'cell-size': { type: 'string', default: '0' },
  },
  strict: true,
});
const TICK_MS = Number(opts['tick-ms']);
const BATCH = Number(opts.batch);
const BACKLOG = Number(opts['backlog-bytes']);
const grid = new InterestGrid<Client>(Number(opts['cell-size']));

interface Client {
  ws: WebSocket;
  entry: UserTransform | undefined;
  moved: boolean;
  inWorld: boolean;
}

const clients = new Set<Client>();

const say = (message: string) => process.stderr.write(`[floor] ${message}\n`);

const http = createServer((req, res) => {
  // A client that resets mid-request must not end the process (an unheard 'error' would).
  req.on('error', () => {});
  res.on('error', () => {});
  if (req.method === 'POST' && req.url === '/api/v4/auth/guest-token') {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: randomUUID(), token: 'floor' }));
    });
    return;
  }
  res.writeHead(404).end();
});

// A listen failure (port taken, bad host) ends the run with a message rather than an unhandled event.
http.on('error', (error) => {
  say(`server failed: ${error.message}`);
  process.exit(1);
});
// A socket that errors before the HTTP parser hands it over (reset during the upgrade, garbage bytes).
http.on('clientError', (_error, socket) => socket.destroy());

const wss = new WebSocketServer({ server: http, path: '/posbus', perMessageDeflate: false });
wss.on('error', (error) => say(`websocket server error: ${error.message}`));
wss.on('connection', (ws) => {
  const client: Client = { ws, entry: undefined, moved: false, inWorld: false };
  clients.add(client);
  ws.on('message', (data, isBinary) => {
    if (isBinary) onMessage(client, data);
  });
  ws.on('close', () => clients.delete(client));
  ws.on('error', () => clients.delete(client));
});

function onMessage(client: Client, data: RawData): void {
  let message: ReturnType<typeof decode>;
  try {
    message = decode(data as Uint8Array);
  } catch {
    return;
  }
  switch (message.type) {
    case 'HandShake':
      client.entry = {
        id: message.userId,
        transform: { position: { x: 0, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0 } },
      };
      break;
    case 'TeleportRequest':
      client.inWorld = true;
      client.ws.send(
        encode({
          type: 'SetWorld',
          id: message.target,
          name: 'floor',
          avatar: NIL_UMID,
          owner: NIL_UMID,
          avatar3dAssetId: NIL_UMID,
        }),
      );
      break;
    case 'MyTransform':
      if (!client.entry) return;
      client.entry.transform.position = message.position;
      client.entry.transform.rotation = message.rotation;
      client.moved = true;
      break;
  }
}

function encodeList(users: UserTransform[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < users.length; i += BATCH)
    frames.push(encode({ type: 'UsersTransformList', value: users.slice(i, i + BATCH) }));
  return frames;
}

setInterval(() => {
  const moversByCell = new Map<number, UserTransform[]>();
  for (const client of clients) {
    if (!client.moved || !client.entry) continue;
    client.moved = false;
    const cell = cellOf(client.entry);
    const movers = moversByCell.get(cell);
    if (movers) movers.push(client.entry);
    else moversByCell.set(cell, [client.entry]);
  }
  if (!moversByCell.size) return;
  const framesByCell = new Map<number, Uint8Array[]>();
  for (const [cell, movers] of moversByCell) framesByCell.set(cell, encodeList(movers));
  const joined = new Map<number, Uint8Array[]>();
  for (const client of clients) {
    if (!client.inWorld || !client.entry || client.ws.readyState !== WebSocket.OPEN) continue;
    const cell = cellOf(client.entry);
    let frames = joined.get(cell);
    if (!frames) {
      const parts = grid.neighbourhood(cell).flatMap((key) => framesByCell.get(key) ?? []);
      frames = joinUsersTransformLists(parts, BATCH);
      joined.set(cell, frames);
    }
    for (const frame of frames) {
      if (client.ws.bufferedAmount > BACKLOG) break;
      client.ws.send(frame);
    }
  }
}, TICK_MS);

function cellOf(entry: UserTransform): number {
  return grid.cellAt(entry.transform.position.x, entry.transform.position.z);
}

http.listen(Number(opts.port), String(opts.host), () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // The line scripts/bench-load.ts waits for, as the node's.
  process.stdout.write(
    `${JSON.stringify({ level: 30, msg: 'odyssey node started', url: `http://${opts.host}:${port}` })}\n`,
  );
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const client of clients) client.ws.terminate();
    http.close();
    process.exit(0);
  });
}

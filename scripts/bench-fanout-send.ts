/**
 * `npm run bench:fanout-send`: the cost of a tick's sends alone, the step of the fan-out the floor and the
 * node share (docs/benchmarks.md, "Fan-out"). One `UsersTransformList` of N users goes to N WebSocket
 * clients every tick, either through `ws.send` per client (what the floor does, and the node did) or
 * framed once and written to each socket (`node/posbus/shared-frames.ts`, what the node does now). The
 * clients are `ws` clients in a child process, so this process's CPU (user + system: the socket writes'
 * kernel work included) is the sender's alone. Rounds alternate the two ways; every round is printed.
 *
 *   npm run bench:fanout-send [-- --clients=500 --ticks=100 --tick-ms=100 --rounds=5]
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { directSocket, sharedFrame } from '../node/posbus/shared-frames.ts';
import { encode, type UserTransform } from '../protocol/posbus/index.ts';
import { NODE, RUNTIME_FLAGS } from './bench-node.ts';
import { markdownTable } from './markdown-table.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '500' },
    ticks: { type: 'string', default: '100' },
    'tick-ms': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    /** Set in the child: connect to this URL and read until the parent ends it. */
    connect: { type: 'string' },
  },
});
const clients = Number(values.clients);

if (values.connect) {
  // The receiving side: N clients that only read.
  let open = 0;
  for (let i = 0; i < clients; i++) {
    const ws = new WebSocket(values.connect, { perMessageDeflate: false });
    ws.on('open', () => {
      if (++open === clients) process.stdout.write('open\n');
    });
    ws.on('error', (error) => {
      process.stderr.write(`client error: ${error.message}\n`);
      process.exit(1);
    });
  }
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
} else {
  await main();
}

async function main(): Promise<void> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('error', (error) => {
    console.error(`server failed: ${error.message}`);
    process.exit(1);
  });
  const sockets: WebSocket[] = [];
  server.on('connection', (ws) => {
    // A client that drops mid-run is left out of the next rounds' figures, not a crash.
    ws.on('error', () => {});
    ws.on('close', () => {
      const at = sockets.indexOf(ws);
      if (at >= 0) sockets.splice(at, 1);
    });
    sockets.push(ws);
  });
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const child = spawn(
    NODE,
    [...RUNTIME_FLAGS, fileURLToPath(import.meta.url), '--connect', url, '--clients', String(clients)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdin.on('error', () => {}); // EPIPE when the clients' process already ended
  child.on('error', (error) => {
    console.error(`client process failed: ${error.message}`);
    process.exit(1);
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`client process ended (${code})`)));
  });

  const users: UserTransform[] = Array.from({ length: clients }, (_, i) => ({
    id: randomUUID(),
    transform: { position: { x: i, y: 1, z: -i }, rotation: { x: 0, y: i / clients, z: 0 } },
  }));
  const ticks = Number(values.ticks);
  const tickMs = Number(values['tick-ms']);
  const ways = {
    'ws.send per client': (frame: Uint8Array) => {
      for (const ws of sockets) ws.send(frame);
    },
    'framed once, written to each socket': (frame: Uint8Array) => {
      for (const ws of sockets) {
        const socket = directSocket(ws);
        if (socket) socket.write(sharedFrame(frame));
        else ws.send(frame);
      }
    },
  };
  const rows: (string | number)[][] = [];
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [way, send] of Object.entries(ways)) {
      const cpu0 = process.cpuUsage();
      let busy = 0;
      for (let t = 0; t < ticks; t++) {
        users[t % clients].transform.position.x += 1;
        const start = performance.now();
        // A fresh frame each tick, as the room encodes one.
        send(encode({ type: 'UsersTransformList', value: users }));
        busy += performance.now() - start;
        await new Promise((resolve) => setTimeout(resolve, tickMs));
      }
      const cpu = process.cpuUsage(cpu0);
      const sends = ticks * sockets.length;
      rows.push([
        round,
        way,
        ((cpu.user + cpu.system) / sends).toFixed(2),
        (cpu.system / sends).toFixed(2),
        ((busy * 1000) / sends).toFixed(2),
      ]);
    }
  }
  const frameBytes = encode({ type: 'UsersTransformList', value: users }).length;
  console.log(
    `\n${sockets.length} clients, a ${frameBytes}-byte frame each per tick, ${ticks} ticks of ${tickMs} ms per round\n`,
  );
  console.log(
    markdownTable(
      ['round', 'way', 'CPU µs per send', 'of it kernel µs', 'send loop µs per send (wall)'],
      rows,
    ),
  );
  child.stdin.end();
  for (const ws of sockets) ws.terminate();
  server.close();
}

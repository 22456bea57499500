/**
 * How the benches start a node (or the floor server beside it): one list of flags, so that every bench
 * measures the node as `npm start` runs it and a change to how it runs lands in all of them at once.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The pinned Node of `npm install` when there is one (it runs the .ts sources), else this one. */
export const NODE = existsSync(join(ROOT, 'node_modules/.bin/node'))
  ? join(ROOT, 'node_modules/.bin/node')
  : process.execPath;

/** As `npm start` and bin/odyssey-node.js: a small young generation (docs/benchmarks.md, "Memory"). */
export const RUNTIME_FLAGS = ['--max-semi-space-size=4'];

/** `start` on a throwaway data dir, every port chosen by the system, listening on loopback only. */
export function loopbackNodeArgs(data: string, extra: readonly string[] = []): string[] {
  return [
    'start',
    ...['--data', data, '--host', '127.0.0.1'],
    ...['--port', '0', '--p2p-port', '0', '--p2p-ws-port', '0'],
    ...extra,
  ];
}

/** For benches whose many clients all come from 127.0.0.1. */
export const MANY_CLIENTS_FLAGS = [
  // Every client takes a guest token: the per-address limit of the auth routes would refuse most.
  ...['--auth-requests-per-minute', '100000'],
  // …and opens a WebSocket: the per-address connection cap would refuse all past 128.
  ...['--max-connections-per-address', '0'],
];

/** A raw TCP connection to a test node, for what fetch hides: keep-alive, pipelining, slow clients. */
import { connect, type Socket } from 'node:net';
import type { TestNode } from './node.ts';

export interface RawConnection {
  socket: Socket;
  /** Everything received so far (latin1). */
  received(): string;
  /** Resolves when the node closed the connection (FIN or reset), with the error if it was a reset. */
  closed: Promise<Error | undefined>;
  isClosed(): boolean;
}

export async function rawConnect(node: TestNode): Promise<RawConnection> {
  const socket = connect(node.node.address.port, '127.0.0.1');
  let text = '';
  let error: Error | undefined;
  let isClosed = false;
  socket.on('data', (d) => {
    text += d.toString('latin1');
  });
  // A reset while we still write is one of the ways a server closes; it is reported, never thrown.
  socket.on('error', (e) => {
    error = e;
  });
  const closed = new Promise<Error | undefined>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve(error);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => text, closed, isClosed: () => isClosed };
}

/** The status codes of the HTTP responses in `text`, in order. */
export const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

/** Resolves with true when `p` settles within `ms`, false otherwise. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([p.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}

/**
 * Local file bodies written straight to the Node response, bypassing the web `ReadableStream` that
 * @hono/node-server would pump. Through the web stream every chunk is a fresh buffer (nothing tells the
 * producer when the socket is done with one) and half of a download's CPU was garbage collection; here
 * each chunk is a buffer lent by a pool and given back from the socket write's callback, and the next
 * chunk is read while the socket drains the last one.
 *
 * How it fits Hono: `serveFile` still returns an ordinary Response whose body is the web stream (opened
 * only when read), and records beside it, keyed by the Node response, how to write the same bytes
 * directly. Every middleware then runs as usual and adds its headers (CORS, Vary...) to that Response.
 * `withDirectBodies`, wrapped around `app.fetch` where the Node server is made, finds the record once the
 * app has answered, checks the answer still carries that body, writes the status and every header of the
 * final Response, then the body. Without a Node response (`app.request` in tests, another runtime) or
 * without the wrapper, the web stream is sent as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Logger } from 'pino';

/** Bytes lent to the writer, released once the socket has written them (or will never write them). */
export interface LeasedChunk {
  readonly bytes: Uint8Array;
  release(): void;
}

interface DirectBody {
  /** The web stream the Response carries: the direct write applies only if the answer still has it. */
  stream: ReadableStream<Uint8Array>;
  length: number;
  open: () => AsyncIterable<LeasedChunk>;
  log: Logger;
  path: string;
}

export interface NodeEnv {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

const directBodies = new WeakMap<ServerResponse, DirectBody>();

/** Offers `open()`'s chunks as the body of the response to `env`'s request, in place of `stream`. */
export function offerDirectBody(env: NodeEnv | undefined, body: DirectBody): void {
  if (env?.outgoing) directBodies.set(env.outgoing, body);
}

type Fetch<E> = (request: Request, env: E) => Response | Promise<Response>;

/** `fetch`, with bodies offered by `offerDirectBody` written straight to the Node response. */
export function withDirectBodies<E>(fetch: Fetch<E>): Fetch<E> {
  return async (request, env) => {
    const response = await fetch(request, env);
    const outgoing = (env as NodeEnv | undefined)?.outgoing;
    const direct = outgoing && directBodies.get(outgoing);
    if (!outgoing || !direct) return response;
    directBodies.delete(outgoing);
    // A middleware that replaced the answer (an error after the handler) sends its own body.
    if (response.body !== direct.stream || outgoing.headersSent) return response;
    const headers: Record<string, string | string[]> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length) headers['set-cookie'] = cookies;
    outgoing.writeHead(response.status, headers);
    void writeBody(outgoing, direct);
    return RESPONSE_ALREADY_SENT;
  };
}

/**
 * A response whose socket is destroyed (a reset, the idle timeout) before its 'close' has fired: a write
 * now would never call back, and the lent chunk would never be given back.
 */
function isGone(outgoing: ServerResponse): boolean {
  return outgoing.destroyed || outgoing.socket?.destroyed === true;
}

/**
 * Writes the chunks, reading the next while the socket drains the last, and ends the response; or cuts
 * the connection when the source fails or yields fewer or more bytes than the Content-Length announced
 * (a truncated file must not look complete). A client gone mid-body stops the reading; every chunk lent
 * is released, by the write's callback or here.
 */
async function writeBody(outgoing: ServerResponse, body: DirectBody): Promise<void> {
  // A client gone before the body (the answer took a while): nothing is read.
  if (isGone(outgoing)) return;
  let gone = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    gone = true;
    wake?.();
  };
  const onDrain = () => wake?.();
  outgoing.on('close', onClose);
  outgoing.on('drain', onDrain);
  let iterator: AsyncIterator<LeasedChunk> | undefined;
  let pending: Promise<IteratorResult<LeasedChunk>> | undefined;
  try {
    iterator = body.open()[Symbol.asyncIterator]();
    let sent = 0;
    // Invariant: `pending` is the one read in flight; the finally below releases its chunk if unwritten.
    pending = iterator.next();
    for (;;) {
      const next = await pending;
      pending = undefined;
      if (gone || isGone(outgoing)) {
        if (!next.done) next.value.release();
        return;
      }
      if (next.done) throw new Error(`the file ended after ${sent} of the ${body.length} bytes announced`);
      const chunk = next.value;
      sent += chunk.bytes.length;
      if (sent < body.length) {
        const flowing = outgoing.write(chunk.bytes, () => chunk.release());
        // Read ahead while the socket takes this chunk. Awaited only after the drain: marked handled now,
        // or a read failing while a slow client holds us up would be an unhandled rejection (the
        // process would exit); the await below still sees the failure.
        pending = iterator.next();
        pending.catch(() => {});
        if (!flowing && !gone) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      // The last bytes announced go out only once the source has ended: a source with more would
      // otherwise have sent a body that looks complete before the cut.
      const after = await iterator.next().catch((error: Error) => {
        chunk.release();
        throw error;
      });
      if (sent > body.length || !after.done) {
        chunk.release();
        if (!after.done) after.value.release();
        throw new Error(`the file has more than the ${body.length} bytes announced`);
      }
      if (gone || isGone(outgoing)) return chunk.release();
      // A write's callback runs whether or not the bytes went out (an end's only on 'finish').
      outgoing.write(chunk.bytes, () => chunk.release());
      outgoing.end();
      return;
    }
  } catch (error) {
    body.log.warn({ err: error, path: body.path }, 'response body failed mid-stream; connection cut');
    // Node's http corks a response's writes until the next tick: what was written (the status line
    // included) goes out before the cut, so the client sees a body cut short rather than no answer.
    const socket = outgoing.socket;
    while (socket?.writableCorked) socket.uncork();
    outgoing.destroy();
  } finally {
    outgoing.off('close', onClose);
    outgoing.off('drain', onDrain);
    // A read still running when the client left: its chunk was never written, so it is released here.
    const last = await pending?.catch(() => undefined);
    if (last && !last.done) last.value.release();
    await iterator?.return?.()?.catch(() => {});
  }
}

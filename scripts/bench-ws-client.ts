/**
 * A lean WebSocket client for the load generator (scripts/load-worker.ts): RFC 6455 over a plain TCP
 * socket, just what a benchmark client needs — the upgrade, binary messages both ways, pong for the
 * server's ping, and the close handshake. No extensions, no fragmented messages sent, no text.
 *
 * Why not `ws`: at 5,000 clients the generator receives ~50,000 frames a second and its per-message
 * machinery (a Receiver stream per socket, events, option objects, a header buffer per send) costs the
 * generator more CPU than the node spends sending them; the generator must not be what a run measures.
 * Here a frame that arrives whole in one read is handed on as a view of that read, and a move is one
 * `write` of one buffer.
 *
 * Client frames are masked as the RFC requires (the server refuses unmasked ones), with one random key
 * per connection: a benchmark client has no cross-protocol attack to defend against.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONTINUATION = 0x0;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
/** Messages larger than this close the connection (the node's frames are ≤ 32 KiB, AddUsers more). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface BenchWsEvents {
  open(): void;
  /** A binary message; `data` is only valid during the call (it may be a view of a reused read). */
  message(data: Buffer): void;
  /** The connection ended; `code` from the server's close frame, 1006 when there was none. */
  close(code: number): void;
  /** Connecting or the upgrade failed (before `open`). */
  error(error: Error): void;
}

export class BenchWsClient {
  private readonly socket: Socket;
  private readonly events: BenchWsEvents;
  private readonly mask = randomBytes(4);
  private readonly key = randomBytes(16).toString('base64');
  private opened = false;
  private failed = false;
  private closed = false;
  private closeCode = 1006;
  /** Bytes of an incomplete frame (or HTTP response) carried to the next read. */
  private pending: Buffer | undefined;
  /** A fragmented message being put together. */
  private fragments: Buffer[] | undefined;
  private fragmentBytes = 0;

  constructor(url: string, events: BenchWsEvents, timeoutMs = 20_000) {
    const target = new URL(url);
    this.events = events;
    this.socket = connect(Number(target.port), target.hostname);
    this.socket.setNoDelay(true);
    this.socket.setTimeout(timeoutMs, () => {
      if (!this.opened) this.fail(new Error(`no upgrade in ${timeoutMs} ms`));
    });
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => {
      if (!this.opened) this.fail(error);
    });
    this.socket.on('close', () => this.finish());
  }

  get isOpen(): boolean {
    return this.opened && !this.closed;
  }

  /** Bytes written but not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** Sends one binary message (copied and masked into a new buffer: `payload` may be reused at once). */
  send(payload: Uint8Array): void {
    if (!this.isOpen) return;
    this.socket.write(this.frame(OP_BINARY, payload));
  }

  /** Ends the connection without a close handshake. */
  terminate(): void {
    this.socket.destroy();
  }

  private frame(opcode: number, payload: Uint8Array): Buffer {
    const length = payload.length;
    const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
    const out = Buffer.allocUnsafe(header + 4 + length);
    out[0] = 0x80 | opcode;
    if (header === 2) out[1] = 0x80 | length;
    else if (header === 4) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(length, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeBigUInt64BE(BigInt(length), 2);
    }
    const mask = this.mask;
    out[header] = mask[0];
    out[header + 1] = mask[1];
    out[header + 2] = mask[2];
    out[header + 3] = mask[3];
    const start = header + 4;
    for (let i = 0; i < length; i++) out[start + i] = payload[i] ^ mask[i & 3];
    return out;
  }

  private onData(chunk: Buffer): void {
    let data = chunk;
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let pos = 0;
    if (!this.opened) {
      pos = this.readUpgrade(data);
      if (pos < 0) return;
    }
    while (pos < data.length && !this.closed) {
      const used = this.readFrame(data, pos);
      if (used === 0) break;
      pos += used;
    }
    if (pos < data.length && !this.closed) this.pending = data.subarray(pos);
  }

  /** Reads the HTTP 101 answer; returns the offset after it, or -1 (incomplete, or failed). */
  private readUpgrade(data: Buffer): number {
    const end = data.indexOf('\r\n\r\n');
    if (end < 0) {
      if (data.length > 8192) this.fail(new Error('upgrade response too long'));
      else this.pending = data;
      return -1;
    }
    const head = data.toString('latin1', 0, end);
    const accept = createHash('sha1').update(`${this.key}${GUID}`).digest('base64');
    if (!/^HTTP\/1\.1 101 /.test(head)) {
      this.fail(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
      return -1;
    }
    if (!head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
      this.fail(new Error('upgrade answered with a wrong Sec-WebSocket-Accept'));
      return -1;
    }
    this.opened = true;
    this.socket.setTimeout(0);
    this.events.open();
    return end + 4;
  }

  /** Handles one frame at `pos`; returns its size, or 0 when it is not all there yet. */
  private readFrame(data: Buffer, pos: number): number {
    if (data.length - pos < 2) return 0;
    const b0 = data[pos];
    const b1 = data[pos + 1];
    const opcode = b0 & 0x0f;
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      if (data.length - pos < 4) return 0;
      length = data.readUInt16BE(pos + 2);
      header = 4;
    } else if (length === 127) {
      if (data.length - pos < 10) return 0;
      length = Number(data.readBigUInt64BE(pos + 2));
      header = 10;
    }
    if (b1 & 0x80 || length > MAX_MESSAGE_BYTES) {
      // A server never masks; a message past our limit is not one the node sends.
      this.protocolError();
      return 0;
    }
    if (data.length - pos - header < length) return 0;
    const payload = data.subarray(pos + header, pos + header + length);
    this.onFrame(opcode, (b0 & 0x80) !== 0, payload);
    return header + length;
  }

  private onFrame(opcode: number, fin: boolean, payload: Buffer): void {
    if (opcode === OP_PING) {
      this.socket.write(this.frame(0xa, payload));
      return;
    }
    if (opcode === OP_CLOSE) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.socket.end(this.frame(OP_CLOSE, payload.subarray(0, 2)));
      this.closed = true;
      return;
    }
    if (opcode === OP_BINARY || opcode === OP_CONTINUATION) {
      if (fin && !this.fragments) {
        if (opcode === OP_BINARY) this.events.message(payload);
        return;
      }
      // Fragmented: the node does not fragment, but a server may.
      this.fragments ??= [];
      this.fragments.push(Buffer.from(payload));
      this.fragmentBytes += payload.length;
      if (this.fragmentBytes > MAX_MESSAGE_BYTES) {
        this.protocolError();
        return;
      }
      if (fin) {
        const message = Buffer.concat(this.fragments);
        this.fragments = undefined;
        this.fragmentBytes = 0;
        this.events.message(message);
      }
    }
    // Text and pong frames: nothing a PosBus benchmark client needs.
  }

  private protocolError(): void {
    this.closeCode = 1002;
    this.socket.destroy();
    this.closed = true;
  }

  /** Connecting or the upgrade failed: reported once, as `error` (never followed by `close`). */
  private fail(error: Error): void {
    if (this.failed || this.opened) return;
    this.failed = true;
    this.closed = true;
    this.socket.destroy();
    this.events.error(error);
  }

  private finish(): void {
    if (!this.opened) {
      this.fail(new Error('connection closed before the upgrade'));
      return;
    }
    this.opened = false;
    this.closed = true;
    this.events.close(this.closeCode);
  }
}

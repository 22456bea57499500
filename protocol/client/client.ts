/**
 * The PosBus client: one logical session (one session id) carried by a WebSocket that reconnects may
 * replace (SPEC §6). The server sends nothing after a good HandShake (§6.1), so "connected" means
 * "socket open and HandShake sent"; a rejected token shows up as a close with code 1008.
 */
import {
  CompactDecoder,
  decode,
  decodeSessionGrant,
  EXT_TYPE_IDS,
  EXTENDED_HANDSHAKE_VERSION,
  encode,
  encodeSessionRequest,
  Feature,
  isPositionFrame,
  type Message,
  NotificationType,
  ResumeOutcome,
  type SessionGrant,
  type SetWorld,
  SignalType,
  TELEPORT_PACING_NOTICE,
  typeIdOf,
  type Umid,
} from '../posbus/index.ts';
import { uuidv7 } from '../uuid.ts';
import { backoffDelay, type ReconnectPolicy, reconnectPolicy } from './backoff.ts';
import {
  ConnectionClosedError,
  HandlerError,
  NotConnectedError,
  PosbusClientError,
  PosbusTimeoutError,
  UnexpectedFrameError,
} from './errors.ts';
import { TypedEmitter } from './events.ts';
import { messageIterator } from './iterate.ts';
import { nextEvent } from './next.ts';
import {
  CLOSED,
  closeDetails,
  closeSocket,
  defaultWebSocket,
  messageBytes,
  OPEN,
  type SocketEvent,
  toWebSocketUrl,
  type WebSocketCtor,
  type WebSocketLike,
} from './socket.ts';
import { TeleportQueue, type TeleportWaitOptions } from './teleports.ts';
import {
  asError,
  type ClientEventName,
  type ClientEvents,
  type ClientState,
  type CloseEvent,
  type ConnectOptions,
  DEFAULT_TIMEOUT_MS,
  isReconnectableClose,
  type NextOptions,
} from './types.ts';

export class PosbusClient {
  readonly url: string;
  readonly userId: Umid;
  readonly sessionId: Umid;
  /** Resolves with the final close event (never rejects). */
  readonly closed: Promise<CloseEvent>;
  readonly #WebSocket: WebSocketCtor;
  readonly #handshake: Uint8Array;
  readonly #policy: ReconnectPolicy | undefined;
  readonly #connectTimeoutMs: number;
  readonly #teleportTimeoutMs: number;
  readonly #events = new TypedEmitter<ClientEvents>((type, error) =>
    this.#reportHandlerError(String(type), error),
  );
  readonly #teleports = new TeleportQueue();
  #resolveClosed: (event: CloseEvent) => void = () => {};
  #state: ClientState = 'idle';
  #socket: WebSocketLike | undefined;
  /** Rejects the socket being opened, so close() during connect settles start(). */
  #abortOpen: ((error: Error) => void) | undefined;
  #world: SetWorld | undefined;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Extension features asked for (0: a classic client). */
  readonly #features: number;
  readonly #maxBytesPerSecond: number;
  /** Set by each SessionGrant: what this connection runs with, and the token of the next resume. */
  #grant: SessionGrant | undefined;
  /** Reliable frames received on this session (what a resume asks the rest after). */
  #received = 0;
  /** Per connection: compact position frames refer to what earlier ones on the same socket said. */
  #compact = new CompactDecoder();
  /** The node's pacing notice came: the Signal{9} that follows refuses a teleport "not now". Per connection. */
  #pacingNotice = false;
  /** This connection asked to resume: a Fresh answer means entering the world again. */
  #resuming = false;

  constructor(url: string, opts: ConnectOptions) {
    const ctor = opts.WebSocket ?? defaultWebSocket();
    if (!ctor)
      throw new PosbusClientError('no global WebSocket: pass opts.WebSocket (e.g. from the ws package)');
    this.#WebSocket = ctor;
    this.url = toWebSocketUrl(url);
    this.userId = opts.userId.toLowerCase();
    this.sessionId = (opts.sessionId ?? uuidv7()).toLowerCase();
    this.#features = (opts.compact ? Feature.CompactPositions : 0) | (opts.resume ? Feature.Resume : 0);
    this.#maxBytesPerSecond = opts.maxBytesPerSecond ?? 0;
    const extended = this.#features !== 0 || this.#maxBytesPerSecond > 0;
    // Encoding up front rejects a malformed user or session id before any socket exists.
    this.#handshake = encode({
      type: 'HandShake',
      handshakeVersion: extended ? EXTENDED_HANDSHAKE_VERSION : (opts.handshakeVersion ?? 1),
      protocolVersion: opts.protocolVersion ?? 1,
      token: opts.token,
      userId: this.userId,
      sessionId: this.sessionId,
    });
    this.#policy = reconnectPolicy(opts.reconnect);
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#teleportTimeoutMs = opts.teleportTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get state(): ClientState {
    return this.#state;
  }
  /** Id of the world of the last SetWorld; re-entered after a reconnect. */
  get worldId(): Umid | undefined {
    return this.#world?.id;
  }
  get world(): SetWorld | undefined {
    return this.#world;
  }
  /** What the server granted on the current connection (extended clients); undefined before its answer. */
  get session(): SessionGrant | undefined {
    return this.#grant;
  }

  get #extended(): boolean {
    return this.#features !== 0 || this.#maxBytesPerSecond > 0;
  }

  /** Opens the socket and sends HandShake. The first connection is not retried: failure rejects and closes. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new PosbusClientError(`cannot start: client is ${this.#state}`);
    this.#state = 'connecting';
    try {
      await this.#open(false);
    } catch (error) {
      const e =
        error instanceof ConnectionClosedError ? error : { code: 1006, reason: asError(error).message };
      this.#finish(e.code, e.reason);
      throw error;
    }
  }

  /** Stops reconnecting and closes the socket; resolves once it is closed (at most ~2 s). */
  async close(): Promise<void> {
    await this.#shutdown(1000, 'client closed');
  }

  on<K extends ClientEventName>(type: K, handler: (event: ClientEvents[K]) => void): () => void {
    return this.#events.on(type, handler);
  }
  once<K extends ClientEventName>(type: K, handler: (event: ClientEvents[K]) => void): () => void {
    return this.#events.once(type, handler);
  }

  /** Sends a message; false when no connection is open (the message is dropped, not queued). */
  send(message: Message): boolean {
    // Throws PosbusEncodeError: an invalid message is a bug, unlike a lost connection.
    if (!this.#write(encode(message))) return false;
    // Keep Signal{9}s paired with their requests and a left world from being re-entered on reconnect.
    if (message.type === 'TeleportRequest') this.#teleports.track(message.target);
    else if (message.type === 'Signal' && message.value === SignalType.LeaveWorld) this.#world = undefined;
    return true;
  }

  /** Enters a world: resolves with its SetWorld; WorldNotFoundError on Signal{9}; PosbusTimeoutError. */
  async teleport(worldId: Umid, opts: TeleportWaitOptions = {}): Promise<SetWorld> {
    const frame = encode({ type: 'TeleportRequest', target: worldId });
    if (!this.#write(frame)) throw new NotConnectedError(`cannot teleport: client is ${this.#state}`);
    return this.#teleports.wait(worldId, opts.timeoutMs ?? this.#teleportTimeoutMs, opts.signal);
  }

  /** Sends Signal{5} (leave_world); a reconnect then re-enters no world. */
  leaveWorld(): boolean {
    return this.send({ type: 'Signal', value: SignalType.LeaveWorld });
  }

  /** The next event of a kind. Rejects on timeout (PosbusTimeoutError) or final close (ConnectionClosedError). */
  next<K extends ClientEventName>(
    type: K,
    opts: NextOptions<ClientEvents[K]> = {},
  ): Promise<ClientEvents[K]> {
    if (this.#state === 'closed') {
      return Promise.reject(new NotConnectedError(`cannot wait for '${type}': client is closed`));
    }
    return nextEvent(this.#events, type, opts);
  }

  /** Every inbound message from now on, across reconnects; ends when the client closes for good. */
  messages(): AsyncIterableIterator<Message> {
    return messageIterator(this.#events, this.#state === 'closed');
  }

  #write(frame: Uint8Array): boolean {
    const socket = this.#socket;
    if (this.#state !== 'open' || !socket || socket.readyState !== OPEN) return false;
    try {
      socket.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  #open(reconnected: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = new this.#WebSocket(this.url);
        socket.binaryType = 'arraybuffer';
      } catch (error) {
        reject(error); // e.g. a SyntaxError for a malformed URL
        return;
      }
      this.#socket = socket;
      let opened = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const fail = (error: Error): void => {
        if (opened || this.#abortOpen !== fail) return;
        this.#abortOpen = undefined;
        clearTimeout(timer);
        if (this.#socket === socket) this.#socket = undefined;
        reject(error);
      };
      this.#abortOpen = fail;
      if (Number.isFinite(this.#connectTimeoutMs)) {
        timer = setTimeout(() => {
          fail(new PosbusTimeoutError('connect', this.#connectTimeoutMs));
          void closeSocket(socket, 1000, 'connect timeout');
        }, this.#connectTimeoutMs);
      }
      socket.addEventListener('open', () => {
        if (this.#abortOpen !== fail) return; // given up on (timeout, close()) before it opened
        opened = true;
        this.#abortOpen = undefined;
        clearTimeout(timer);
        this.#state = 'open';
        this.#attempt = 0;
        this.#write(this.#handshake);
        this.#compact = new CompactDecoder();
        const resumeToken = reconnected ? (this.#grant?.resumeToken ?? '') : '';
        this.#resuming = resumeToken !== '';
        if (this.#extended) {
          this.#grant = undefined;
          this.#write(
            encodeSessionRequest({
              features: this.#features,
              resumeToken,
              receivedFrames: resumeToken ? this.#received : 0,
              maxBytesPerSecond: this.#maxBytesPerSecond,
            }),
          );
        }
        // A resume keeps the avatar in its world; whether to enter it again waits for the grant.
        if (reconnected && this.#world && !resumeToken)
          this.send({ type: 'TeleportRequest', target: this.#world.id });
        resolve();
        this.#events.emit('open', { reconnected });
      });
      socket.addEventListener('message', (event) => {
        if (this.#socket === socket) this.#onFrame(event);
      });
      socket.addEventListener('close', (event) => {
        const { code, reason } = closeDetails(event);
        if (!opened) fail(new ConnectionClosedError(code, reason, false));
        else if (this.#socket === socket) {
          this.#socket = undefined;
          this.#onLost(code, reason);
        }
      });
      // `ws` rethrows socket errors nobody listens to; the close event that follows says all we need.
      socket.addEventListener('error', () => {});
    });
  }

  #onFrame(event: SocketEvent): void {
    const bytes = messageBytes(event);
    if (!bytes) {
      const data = (event as { data?: unknown }).data;
      const what = typeof data === 'string' ? 'a text frame' : 'a frame in a form other than bytes';
      this.#events.emit('error', new UnexpectedFrameError(`ignored ${what}: PosBus frames are binary`));
      return;
    }
    const typeId = typeIdOf(bytes);
    if (typeId === EXT_TYPE_IDS.SessionGrant && this.#extended && !this.#grant) {
      this.#onGrant(bytes);
      return;
    }
    // Counted as the server counts them, decodable or not: a resume asks for what follows.
    if (!isPositionFrame(bytes)) this.#received++;
    let message: Message;
    try {
      message =
        typeId === EXT_TYPE_IDS.CompactTransforms
          ? { type: 'UsersTransformList', value: this.#compact.decode(bytes) }
          : decode(bytes);
    } catch (error) {
      this.#events.emit('error', asError(error));
      return;
    }
    // Client state first, so handlers already see worldId of the SetWorld they are handed.
    let dualConnection = false;
    if (message.type === 'SetWorld') {
      this.#world = message;
      this.#teleports.onSetWorld(message);
    } else if (message.type === 'Signal' && message.value === SignalType.WorldDoesNotExist) {
      const paced = this.#pacingNotice;
      this.#pacingNotice = false;
      const target = this.#teleports.onRefused(paced);
      // Our world was deleted while we were away: do not try to re-enter it after the next reconnect. A
      // teleport refused for pacing says nothing about the world: we are still in it.
      if (!paced && target !== undefined && target === this.#world?.id) this.#world = undefined;
    } else if (
      message.type === 'Notification' &&
      message.notifyType === NotificationType.TextMessage &&
      message.value === TELEPORT_PACING_NOTICE
    ) {
      this.#pacingNotice = true;
    } else if (message.type === 'Signal' && message.value === SignalType.DualConnection) {
      dualConnection = true;
    }
    this.#events.emit(message.type, message as never);
    this.#events.emit('message', message);
    // Another connection of this user took over; the server drops this one ~100 ms later (SPEC §6.2).
    // Reconnecting would only take the session back and ping-pong with the other tab.
    if (dualConnection) void this.#shutdown(1000, 'dual connection');
  }

  #onGrant(bytes: Uint8Array): void {
    let grant: SessionGrant;
    try {
      grant = decodeSessionGrant(bytes);
    } catch (error) {
      this.#events.emit('error', asError(error));
      return;
    }
    this.#grant = grant;
    this.#received = grant.sentFrames;
    // The old session is gone (grace over, or the node restarted): enter the world again as a classic client does.
    if (grant.outcome === ResumeOutcome.Fresh && this.#resuming && this.#world) {
      this.send({ type: 'TeleportRequest', target: this.#world.id });
    }
    this.#resuming = false;
    this.#events.emit('session', grant);
  }

  #onLost(code: number, reason: string): void {
    if (!this.#policy || this.#state !== 'open' || !isReconnectableClose(code)) {
      this.#finish(code, reason);
      return;
    }
    this.#state = 'reconnecting';
    this.#pacingNotice = false;
    this.#teleports.failAll(new ConnectionClosedError(code, reason, true));
    this.#events.emit('close', { code, reason, willReconnect: true });
    this.#scheduleReconnect(code, reason);
  }

  #scheduleReconnect(code: number, reason: string): void {
    const policy = this.#policy;
    if (this.#state !== 'reconnecting' || !policy) return; // a handler called close()
    const attempt = ++this.#attempt;
    if (attempt > policy.maxAttempts) {
      this.#finish(
        code,
        `gave up after ${policy.maxAttempts} reconnect attempts${reason ? `: ${reason}` : ''}`,
      );
      return;
    }
    const delayMs = backoffDelay(policy, attempt);
    this.#events.emit('reconnect', { attempt, delayMs });
    if (this.#state !== 'reconnecting') return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#open(true).catch((error: unknown) => {
        const e =
          error instanceof ConnectionClosedError ? error : { code: 1006, reason: asError(error).message };
        this.#scheduleReconnect(e.code, e.reason);
      });
    }, delayMs);
  }

  async #shutdown(code: number, reason: string): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#finish(code, reason);
    if (socket && socket.readyState !== CLOSED) await closeSocket(socket, code, reason);
  }

  /** The one place the client becomes closed: emits the single final close event. */
  #finish(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#abortOpen?.(new ConnectionClosedError(code, reason, false));
    this.#teleports.failAll(new ConnectionClosedError(code, reason, false));
    const event: CloseEvent = { code, reason, willReconnect: false };
    this.#events.emit('close', event);
    this.#resolveClosed(event);
  }

  #reportHandlerError(type: string, error: unknown): void {
    // Nobody to tell (or the 'error' handler itself threw): surface it like a throwing EventTarget
    // listener would, instead of swallowing a bug.
    if (type === 'error' || this.#events.listenerCount('error') === 0) {
      queueMicrotask(() => {
        throw error;
      });
      return;
    }
    this.#events.emit('error', new HandlerError(type, error));
  }
}

/** Creates a client and starts it: resolves once the socket is open and HandShake was sent. */
export async function connect(url: string, opts: ConnectOptions): Promise<PosbusClient> {
  const client = new PosbusClient(url, opts);
  await client.start();
  return client;
}

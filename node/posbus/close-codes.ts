/** WebSocket close codes the node uses, each with a reason text sent alongside. */
export const CloseCode = {
  /** Node shutting down. */
  GoingAway: 1001,
  /** Too many malformed or unexpected frames. */
  InvalidPayload: 1007,
  /** Handshake failed (bad token, wrong user, not a HandShake) or the rate limit was exceeded. */
  Policy: 1008,
  /** A frame over the size limit. */
  TooBig: 1009,
  /** The same user connected again from another session. */
  DualConnection: 4001,
  /** The client did not read fast enough: its send queue passed the bound. */
  SlowConsumer: 4002,
  /** No pong to our ping, or no handshake in time. */
  Timeout: 4003,
  /** The same session reconnected: this older socket is superseded. */
  Replaced: 4004,
} as const;

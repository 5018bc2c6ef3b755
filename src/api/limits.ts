/**
 * The API's defences against clients that hold resources instead of asking for data: every
 * request has a deadline, every client a share of the connections and of the request rate, and
 * every answer a size. The README's REST API section lists these values; tests lower them to
 * exercise each one quickly.
 */
export interface ApiLimits {
  /** The request line and headers must be complete this long after the connection opened. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (a trickled body gets 408). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic either way for this long is closed (a client that stops reading). */
  idleTimeoutMs: number;
  /** How often node:http checks the two deadlines above (their resolution). */
  timeoutCheckIntervalMs: number;
  /** Open connections at once; beyond this they are closed as they arrive. */
  maxConnections: number;
  /** Open connections of one client address at once; beyond this they are closed on arrival. */
  maxConnectionsPerClient: number;
  /** Bytes of the request line and headers (node:http's parser limit): 431 beyond. */
  maxHeaderBytes: number;
  /** Characters of a request target: 414 beyond. */
  maxUrlChars: number;
  /** GET and HEAD requests a second per client address, every route together; 0: no limit. */
  getRatePerSecond: number;
  /**
   * Bytes a second of answers of the routes that build large ones (block ranges, the mempool) per
   * client: once a client has taken this much in the current second, such requests get 429.
   */
  heavyBytesPerSecond: number;
  /** Large answers being built or sent at once; more wait their turn. */
  heavyConcurrency: number;
  /** A large answer must be taken by the client within this, or its connection is closed. */
  heavySendTimeoutMs: number;
  /** Bytes of JSON of one block range answer (it holds at least one block whatever its size). */
  rangeResponseBytes: number;
  /** Open event streams at once (429 beyond). */
  maxEventStreams: number;
  /** An event stream whose client stops reading is dropped once this much is queued for it. */
  eventBufferBytes: number;
}

export const DEFAULT_API_LIMITS: Readonly<ApiLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  timeoutCheckIntervalMs: 1_000,
  maxConnections: 512,
  maxConnectionsPerClient: 64,
  maxHeaderBytes: 16 * 1024,
  maxUrlChars: 4 * 1024,
  getRatePerSecond: 1000,
  heavyBytesPerSecond: 16 * 1024 * 1024,
  heavyConcurrency: 4,
  heavySendTimeoutMs: 20_000,
  rangeResponseBytes: 4 * 1024 * 1024,
  maxEventStreams: 256,
  eventBufferBytes: 1024 * 1024,
});

export function apiLimits(overrides: Partial<ApiLimits> = {}): Readonly<ApiLimits> {
  const limits = { ...DEFAULT_API_LIMITS, ...overrides };
  // node:http refuses a headers deadline past the request deadline.
  limits.headersTimeoutMs = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return Object.freeze(limits);
}

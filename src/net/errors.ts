/**
 * Errors of the network layer, as values with codes: callers (sync, API, admin routes) branch on
 * `code`, never on message text.
 */
export type NetErrorCode =
  /** publish/request before start() */
  | "NotStarted"
  /** a peer id string that does not parse */
  | "InvalidPeerId"
  /** a bootstrap entry or listen host that does not parse */
  | "InvalidAddress"
  /** the persistent identity file exists but cannot be used */
  | "BadIdentity"
  /** a second handler for a protocol or a second subscription to a topic */
  | "AlreadyRegistered"
  /** a local message over the topic's own size limit (peers would reject it) */
  | "MessageTooLarge"
  /** a request did not complete within its timeout */
  | "Timeout"
  /** the peer's response frame is over the caller's maxResponseBytes */
  | "ResponseTooLarge"
  /** the peer answered with something that is not a response frame */
  | "BadResponse"
  /** the peer's handler failed and said why */
  | "RemoteError"
  /** the peer could not be dialled, or the stream broke */
  | "Unreachable";

export class NetError extends Error {
  override readonly name = "NetError";
  /** RemoteError: the status the peer answered with (see RespStatus in req-resp.ts) */
  readonly status: number | undefined;
  constructor(
    readonly code: NetErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.status = options?.status;
  }
}

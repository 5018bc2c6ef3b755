import type { Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import type { Logger } from "pino";
import { NetError } from "./errors.js";

/**
 * Request/response on one stream: the requester writes one length-prefixed (unsigned varint)
 * request and closes its side; the responder writes one length-prefixed response frame and
 * closes. A response frame is a status byte then the payload (OK) or a short UTF-8 reason
 * (any other status), so a requester can tell "the peer refused, and why" from a broken stream
 * and branch on the status, never on the reason's text.
 */
export const RespStatus = {
  OK: 0,
  /** the request does not decode or asks for more than the protocol allows (the sender's fault) */
  INVALID_REQUEST: 1,
  /** the responder failed (its fault, or nobody's) */
  SERVER_ERROR: 2,
  /** the responder will not serve this peer now (too many requests at once, budget spent) */
  BUSY: 3,
  /** the peer is on another network (chain id or genesis): it will be disconnected */
  GENESIS_MISMATCH: 4,
} as const;
export type RespStatus = (typeof RespStatus)[keyof typeof RespStatus];
const KNOWN_STATUS = new Set<number>(Object.values(RespStatus));

/** What a handler throws to answer with a status other than OK (the message goes to the peer). */
export class ResponseError extends Error {
  override readonly name = "ResponseError";
  constructor(
    readonly status: Exclude<RespStatus, typeof RespStatus.OK>,
    message: string,
  ) {
    super(message);
  }
}

const MAX_REASON_BYTES = 256;
// lpStream buffers incoming bytes up to this much beyond a frame's length limit.
const FRAME_SLACK_BYTES = 16;

/** A length prefix that cannot be the length of a frame within the limit. */
class PrefixTooLongError extends Error {
  override readonly name = "InvalidDataLengthLengthError";
}

/**
 * The frame's length prefix (an unsigned LEB128 varint) for lpStream, read a byte at a time:
 * RangeError while incomplete (lpStream reads another byte), and a frame violation once more
 * bytes came than a length up to `maxLength` needs. lpStream's own decoder checks the prefix's
 * length only once it decodes, so an endless run of continuation bytes (0x80-0xff) kept the
 * reader taking bytes one by one until the exchange timed out, with nobody to blame.
 */
function lengthDecoder(maxLength: number) {
  let maxBytes = 1;
  while (2 ** (7 * maxBytes) <= maxLength) maxBytes++;
  return (prefix: { byteLength: number; get(index: number): number }): number => {
    let value = 0;
    for (let i = 0; i < prefix.byteLength; i++) {
      if (i >= maxBytes)
        throw new PrefixTooLongError(`length prefix over ${maxBytes} bytes (limit ${maxLength})`);
      const byte = prefix.get(i);
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return value;
    }
    throw new RangeError("length prefix incomplete");
  };
}

/** A length-prefixed reader/writer of frames up to `maxLength` bytes. */
function frames(stream: Stream, maxLength: number) {
  return lpStream(stream, {
    maxDataLength: maxLength,
    maxBufferSize: maxLength + FRAME_SLACK_BYTES,
    lengthDecoder: lengthDecoder(maxLength),
  });
}

export interface HandlerLimits {
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** the whole exchange: reading the request, running the handler, writing the response */
  timeoutMs: number;
}

export interface RequestOptions {
  maxResponseBytes: number;
  /** the whole exchange: dialling, opening the stream, writing, reading the response */
  timeoutMs: number;
}

/**
 * Answers a request; a thrown ResponseError becomes a frame of its status and message, any other
 * error a SERVER_ERROR frame with its message (so throw messages fit for peers). The signal
 * aborts when the exchange times out.
 */
export type RequestHandler = (
  request: Uint8Array,
  from: string,
  signal: AbortSignal,
) => Promise<Uint8Array>;

export interface ReqRespHooks {
  /** a peer broke the framing or a size limit */
  onViolation(peerId: string, reason: string): void;
  logger: Logger;
}

/**
 * The peer broke the framing: a length prefix over the limit or malformed, or more bytes than a
 * frame may hold (they can overflow the read buffer before the prefix is even parsed, as they
 * arrive in whole chunks).
 */
function isFrameViolation(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  return (
    name === "InvalidDataLengthError" ||
    name === "StreamBufferError" ||
    name === "InvalidDataLengthLengthError" ||
    name === "InvalidMessageLengthError"
  );
}

/** Resolves or rejects with `promise`, or rejects with the signal's reason once it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

function frame(status: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = status;
  out.set(body, 1);
  return out;
}

function errorFrame(status: RespStatus, reason: string): Uint8Array {
  const bytes = Buffer.from(reason, "utf8").subarray(0, MAX_REASON_BYTES);
  return frame(status, bytes);
}

/** The responder side, run for each inbound stream of a handled protocol. */
export async function answerRequest(
  stream: Stream,
  from: string,
  handler: RequestHandler,
  limits: HandlerLimits,
  { onViolation, logger }: ReqRespHooks,
): Promise<void> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  const lp = frames(stream, limits.maxRequestBytes);

  let request: Uint8Array;
  try {
    request = (await lp.read({ signal })).subarray();
  } catch (err) {
    // A requester writes its whole frame before it closes its side (one that gives up resets
    // the stream instead): a frame cut short by a clean close is misframed too.
    if (isFrameViolation(err) || (err as Error).name === "UnexpectedEOFError")
      onViolation(
        from,
        `request over ${limits.maxRequestBytes} bytes or misframed on ${stream.protocol}`,
      );
    stream.abort(err as Error);
    return;
  }

  let response: Uint8Array;
  try {
    const body = await raceAbort(handler(request, from, signal), signal);
    if (body.length > limits.maxResponseBytes) {
      logger.error(
        { protocol: stream.protocol, bytes: body.length, limit: limits.maxResponseBytes },
        "request handler answered over its own size limit",
      );
      response = errorFrame(RespStatus.SERVER_ERROR, "response too large");
    } else {
      response = frame(RespStatus.OK, body);
    }
  } catch (err) {
    if (signal.aborted) {
      stream.abort(new NetError("Timeout", `handler of ${stream.protocol} timed out`));
      return;
    }
    response =
      err instanceof ResponseError
        ? errorFrame(err.status, err.message)
        : errorFrame(RespStatus.SERVER_ERROR, err instanceof Error ? err.message : String(err));
  }

  try {
    await lp.write(response, { signal });
    await stream.close({ signal });
  } catch (err) {
    stream.abort(err as Error);
  }
}

/** The requester side, on a freshly opened stream (openStream gets the exchange's signal). */
export async function sendRequest(
  peerId: string,
  openStream: (signal: AbortSignal) => Promise<Stream>,
  request: Uint8Array,
  { maxResponseBytes, timeoutMs }: RequestOptions,
  { onViolation }: ReqRespHooks,
): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeoutMs);
  let stream: Stream | undefined;
  try {
    stream = await openStream(signal);
    const lp = frames(stream, maxResponseBytes + 1);
    await lp.write(request, { signal });
    await stream.close({ signal });
    const response = (await lp.read({ signal })).subarray();
    const status = response[0];
    if (status === RespStatus.OK) return response.subarray(1);
    if (status !== undefined && KNOWN_STATUS.has(status)) {
      throw new NetError("RemoteError", Buffer.from(response.subarray(1)).toString("utf8"), {
        status: status as RespStatus,
      });
    }
    onViolation(peerId, "response frame without a valid status");
    throw new NetError("BadResponse", `peer ${peerId} sent a malformed response frame`);
  } catch (err) {
    stream?.abort(err as Error);
    if (err instanceof NetError) throw err;
    if (signal.aborted) {
      throw new NetError("Timeout", `request to ${peerId} timed out after ${timeoutMs} ms`, {
        cause: err,
      });
    }
    if (isFrameViolation(err)) {
      onViolation(peerId, `response over ${maxResponseBytes} bytes or misframed`);
      throw new NetError(
        "ResponseTooLarge",
        `response from ${peerId} over ${maxResponseBytes} bytes`,
        {
          cause: err,
        },
      );
    }
    throw new NetError("Unreachable", `request to ${peerId} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

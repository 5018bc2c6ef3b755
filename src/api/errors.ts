import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { isValidationError, type RejectClass, type ValidationError } from "../core/errors.js";

/** The JSON error body of SPEC section 6. */
export interface ApiErrorBody {
  error: string;
  message: string;
}

const STATUS_BY_CLASS: Record<RejectClass, number> = {
  malformed: 400,
  too_large: 413,
  invalid: 422,
  duplicate: 409,
  unknown: 404,
};

/**
 * The code of every HTTP-level error the API answers (409 and 422 carry the ledger's own codes,
 * `NonceTooLow`, `InvalidSignature`, …, and 400, 404 and 413 may too). The README lists them;
 * a client may rely on exactly these.
 */
export const HTTP_ERROR_CODES = {
  400: "BadRequest",
  401: "Unauthorized",
  404: "NotFound",
  405: "MethodNotAllowed",
  408: "RequestTimeout",
  413: "PayloadTooLarge",
  414: "UriTooLong",
  415: "UnsupportedMediaType",
  417: "ExpectationFailed",
  429: "RateLimited",
  431: "HeadersTooLarge",
  500: "Internal",
  503: "ShuttingDown",
} as const;

export type HttpErrorStatus = keyof typeof HTTP_ERROR_CODES;

/** A 415 for a Content-Encoding other than identity (the other 415s are UnsupportedMediaType). */
export const UNSUPPORTED_ENCODING = "UnsupportedEncoding";

/** Messages echo client input (a URL, a header): at most this many characters of it. */
const MAX_MESSAGE_CHARS = 240;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function httpError(status: HttpErrorStatus, message: string): HttpError {
  return new HttpError(status, HTTP_ERROR_CODES[status], message);
}

export function notFound(what: string): HttpError {
  return httpError(404, what);
}

export function badRequest(message: string): HttpError {
  return httpError(400, message);
}

export function statusOfRejection(e: ValidationError): number {
  return STATUS_BY_CLASS[e.rejectClass];
}

/** Cuts a message that quotes client input to a readable length. */
export function boundedMessage(message: string): string {
  return message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS)}…`;
}

/**
 * The status and body of any error a request raised: our HttpErrors and the ledger's
 * ValidationErrors keep their codes; errors of Fastify and its plugins below our routes (schema
 * failures, malformed JSON, body size, media types, static files) get the documented code of
 * their status. A status we do not document becomes the nearest one we do (a static file outside
 * its root is simply not found); anything else is our bug, a 500.
 */
export function errorResponse(error: FastifyError | Error): { status: number; body: ApiErrorBody } {
  if (error instanceof HttpError)
    return { status: error.statusCode, body: { error: error.code, message: error.message } };
  if (isValidationError(error))
    return {
      status: statusOfRejection(error),
      body: { error: error.code, message: error.message },
    };
  const status = "statusCode" in error ? error.statusCode : undefined;
  if (("validation" in error && error.validation) || status === 400)
    return { status: 400, body: { error: "BadRequest", message: error.message } };
  if (status !== undefined && status >= 400 && status < 500) {
    const documented: HttpErrorStatus =
      status in HTTP_ERROR_CODES ? (status as HttpErrorStatus) : status === 403 ? 404 : 400;
    return {
      status: documented,
      body: {
        error: HTTP_ERROR_CODES[documented],
        message: documented === status ? error.message : (STATUS_CODES[documented] ?? "error"),
      },
    };
  }
  return { status: 500, body: { error: "Internal", message: "internal error" } };
}

/**
 * Every error leaves as `{ error, message }` with a 4xx for anything a client can cause: schema
 * failures, malformed JSON, oversized bodies, wrong media types, validation codes. Anything else
 * is our bug: logged, and answered 500 without internals.
 */
export function errorHandler(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const { status, body } = errorResponse(error);
  if (status >= 500 && status !== 503) request.log.error({ err: error }, "internal error");
  body.message = boundedMessage(body.message);
  reply.code(status).send(body);
}

/** A whole HTTP/1.1 error response with the JSON body, for sockets no request object owns. */
export function rawErrorResponse(
  status: HttpErrorStatus,
  message: string,
  extraHeaders = "",
): string {
  const body = JSON.stringify({
    error: HTTP_ERROR_CODES[status],
    message: boundedMessage(message),
  });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    "Content-Type: application/json; charset=utf-8\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n${extraHeaders}\r\n${body}`
  );
}

/** How long a socket answered with a raw error may linger to take our response in. */
const LINGER_MS = 1_000;

/**
 * Answers on a raw socket and closes it: our half at once (FIN after the response), the rest once
 * the client closes or after LINGER_MS. Closing both halves at once while the client's bytes are
 * still unread makes the kernel send a reset, which may discard the response before the client
 * reads it.
 */
export function answerAndClose(socket: Duplex, response: string): void {
  if (socket.destroyed) return;
  if (socket.writable) socket.end(response);
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Parser error codes of node:http (llhttp) that are a size limit rather than bad syntax. */
const HEADER_OVERFLOW = "HPE_HEADER_OVERFLOW";

const answeredSockets = new WeakSet<Duplex>();

/**
 * Errors node:http raises before a request exists (unparseable requests, a header block over the
 * size limit, a request that took too long to arrive): the documented JSON body on the raw
 * socket, then the connection closes. A reset connection gets nothing; a socket already answered
 * is not answered twice (its further bytes fail to parse too); a socket whose response has begun
 * is closed (HTTP allows nothing else).
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || socket.destroyed || answeredSockets.has(socket)) {
    if (!socket.destroyed && !answeredSockets.has(socket)) socket.destroy();
    return;
  }
  // A response already under way on this socket (an event stream, an answer being sent while
  // the rest of a bad body arrives): bytes of ours now would corrupt it. Close instead.
  const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (current?.headersSent) {
    socket.destroy();
    return;
  }
  answeredSockets.add(socket);
  let response: string;
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT")
    response = rawErrorResponse(408, "the request did not arrive in time");
  else if (error.code === HEADER_OVERFLOW)
    response = rawErrorResponse(431, "the request line and headers exceed the size limit");
  else response = rawErrorResponse(400, `malformed HTTP request (${error.code ?? "parse error"})`);
  answerAndClose(socket, response);
}

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

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function notFound(what: string): HttpError {
  return new HttpError(404, "NotFound", what);
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, "BadRequest", message);
}

export function statusOfRejection(e: ValidationError): number {
  return STATUS_BY_CLASS[e.rejectClass];
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
  let status: number;
  let body: ApiErrorBody;
  if (error instanceof HttpError) {
    status = error.statusCode;
    body = { error: error.code, message: error.message };
  } else if (isValidationError(error)) {
    status = statusOfRejection(error);
    body = { error: error.code, message: error.message };
  } else if ("validation" in error && error.validation) {
    status = 400;
    body = { error: "BadRequest", message: error.message };
  } else if ("statusCode" in error && error.statusCode && error.statusCode < 500) {
    status = error.statusCode;
    body = { error: clientErrorCode(status, error as FastifyError), message: error.message };
  } else {
    request.log.error({ err: error }, "internal error");
    status = 500;
    body = { error: "Internal", message: "internal error" };
  }
  reply.code(status).send(body);
}

function clientErrorCode(status: number, error: FastifyError): string {
  switch (status) {
    case 400:
      return "BadRequest";
    case 404:
      return "NotFound";
    case 413:
      return "PayloadTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 429:
      return "RateLimited";
    default:
      return error.code ?? "ClientError";
  }
}

import { connect, type Socket } from "node:net";
import { HTTP_ERROR_CODES, UNSUPPORTED_ENCODING } from "../../src/api/errors.js";
import { REJECT_CODES } from "../../src/core/errors.js";

/** One HTTP/1.1 response read off a raw socket, or none when the server closed without one. */
export interface RawResponse {
  /** 0 when the connection closed (or reset) before a whole response arrived. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection, or said it would (`Connection: close`). */
  closed: boolean;
}

export interface RawOptions {
  host?: string;
  /** Source address of the connection (another loopback address plays another client). */
  localAddress?: string;
  /** Give up waiting after this long (the response so far is returned, status 0 if none). */
  timeoutMs?: number;
  /** The request was HEAD: the response has no body whatever its headers say. */
  head?: boolean;
  /** Close our side once the request is written (a body cut short then ends at once). */
  halfClose?: boolean;
}

/** Parses the first response in `data`; undefined while it is incomplete. */
export function parseResponse(
  data: Buffer,
  ended: boolean,
  head = false,
): Omit<RawResponse, "closed"> | undefined {
  const split = data.indexOf("\r\n\r\n");
  if (split < 0) return undefined;
  const lines = data.subarray(0, split).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? Number.NaN);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP response: ${lines[0]}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.subarray(split + 4);
  // An interim answer (100 Continue) precedes the response.
  if (status >= 100 && status < 200) return parseResponse(rest, ended, head);
  if (head || status === 204 || status === 304) return { status, headers, body: "" };
  // An event stream never ends: its head is the answer.
  if (/^text\/event-stream/.test(headers["content-type"] ?? ""))
    return { status, headers, body: rest.toString("utf8") };
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (rest.length < length) return undefined;
    return { status, headers, body: rest.subarray(0, length).toString("utf8") };
  }
  if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = rest.indexOf("\r\n", at);
      if (eol < 0) return undefined;
      const line = rest.subarray(at, eol).toString("latin1");
      if (!/^[0-9a-fA-F]{1,8}$/.test(line)) throw new Error(`not a chunk size: ${line}`);
      const size = Number.parseInt(line, 16);
      if (size === 0) return { status, headers, body: Buffer.concat(chunks).toString("utf8") };
      if (rest.length < eol + 2 + size + 2) return undefined;
      chunks.push(rest.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  return ended ? { status, headers, body: rest.toString("utf8") } : undefined;
}

/**
 * Writes `request` (bytes, or pieces written in turn) on a fresh connection and reads the first
 * response: a client that speaks raw bytes, so it can send what no HTTP library would.
 */
export function rawRequest(
  port: number,
  request: string | Buffer | (string | Buffer)[],
  opts: RawOptions = {},
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket: Socket = connect({
      port,
      host: opts.host ?? "127.0.0.1",
      localAddress: opts.localAddress,
    });
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (ended: boolean) => {
      if (done) return;
      let parsed: Omit<RawResponse, "closed"> | undefined;
      try {
        parsed = parseResponse(data, ended, opts.head);
      } catch {
        parsed = { status: -1, headers: {}, body: data.toString("latin1") };
      }
      if (!parsed && !ended) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(
        parsed
          ? { ...parsed, closed: ended || parsed.headers.connection?.toLowerCase() === "close" }
          : { status: 0, headers: {}, body: "", closed: true },
      );
    };
    const timer = setTimeout(() => finish(true), opts.timeoutMs ?? 10_000);
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      finish(false);
    });
    socket.on("end", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
    socket.on("connect", () => {
      for (const piece of [request].flat()) socket.write(piece);
      if (opts.halfClose) socket.end();
    });
  });
}

/** Every `error` code an answer may carry: the HTTP-level ones and the ledger's. */
export const DOCUMENTED_CODES = new Set<string>([
  ...Object.values(HTTP_ERROR_CODES),
  UNSUPPORTED_ENCODING,
  ...Object.keys(REJECT_CODES),
]);

/**
 * Why an answer breaks the documented format, or undefined: an error status carries a JSON body
 * of exactly `{ error, message }` (strings, a documented code); no status is a 5xx but 503 while
 * closing. HEAD answers have no body to check.
 */
export function formatViolation(r: RawResponse, head = false): string | undefined {
  if (r.status === 0) return undefined;
  if (r.status < 100 || r.status > 599) return `not an HTTP status: ${r.status}`;
  if (r.status >= 500) return `server error ${r.status}: ${r.body.slice(0, 200)}`;
  if (r.status < 400 || head) return undefined;
  if (!/^application\/json/.test(r.headers["content-type"] ?? ""))
    return `${r.status} with content-type ${r.headers["content-type"]}`;
  let body: unknown;
  try {
    body = JSON.parse(r.body);
  } catch {
    return `${r.status} body is not JSON: ${r.body.slice(0, 200)}`;
  }
  const keys = body && typeof body === "object" ? Object.keys(body).sort() : [];
  if (keys.join() !== "error,message") return `${r.status} body has keys ${keys.join()}`;
  const { error, message } = body as { error: unknown; message: unknown };
  if (typeof error !== "string" || typeof message !== "string")
    return `${r.status} body fields are not strings`;
  if (!DOCUMENTED_CODES.has(error)) return `${r.status} with undocumented code ${error}`;
  return undefined;
}

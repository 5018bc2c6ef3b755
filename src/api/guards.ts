import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { MIMEType } from "node:util";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import FindMyWay, { type HTTPMethod } from "find-my-way";
import type { Registry } from "prom-client";
import { readGauge } from "../util/gauge.js";
import {
  answerAndClose,
  errorHandler,
  HttpError,
  httpError,
  rawErrorResponse,
  UNSUPPORTED_ENCODING,
} from "./errors.js";
import type { ApiLimits } from "./limits.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route's answers may be large (block ranges, the mempool): see registerRequestGuards. */
    heavy?: boolean;
  }
}

/** The config of a route whose answers may be large: `{ config: HEAVY, … }`. */
export const HEAVY = Object.freeze({ heavy: true });

/**
 * What the guards count, as Prometheus metrics: open connections and large answers in flight
 * with their peaks since start (so a test or an operator can see a bound was never passed), and
 * connections refused by the caps.
 */
export class ApiStats {
  connections = 0;
  connectionsPeak = 0;
  connectionsRefused = 0;
  largeAnswers = 0;
  largeAnswersPeak = 0;

  constructor(registry: Registry) {
    const gauge = (name: string, help: string, read: () => number) =>
      readGauge(registry, name, help, read);
    gauge("lotchain_api_connections", "open API connections", () => this.connections);
    gauge(
      "lotchain_api_connections_peak",
      "most API connections open at once",
      () => this.connectionsPeak,
    );
    gauge(
      "lotchain_api_connections_refused",
      "API connections closed by the caps",
      () => this.connectionsRefused,
    );
    gauge(
      "lotchain_api_large_answers",
      "large answers being built or sent",
      () => this.largeAnswers,
    );
    gauge(
      "lotchain_api_large_answers_peak",
      "most large answers built or sent at once",
      () => this.largeAnswersPeak,
    );
  }
}

/**
 * Connection caps, checked as a connection arrives: beyond the total or beyond a client
 * address's share, it is closed (node:http's server.maxConnections backs the total up). Nothing has been asked on such
 * a connection yet, so there is nothing to answer: it is closed.
 */
export function capConnections(server: Server, limits: ApiLimits, stats: ApiStats): void {
  server.maxConnections = limits.maxConnections;
  server.on("drop", () => stats.connectionsRefused++);
  const perClient = new Map<string, number>();
  // Before node:http's own listener: a refused socket never gets a parser.
  server.prependListener("connection", (socket: Duplex & { remoteAddress?: string }) => {
    const client = socket.remoteAddress ?? "";
    const open = perClient.get(client) ?? 0;
    // node:http's own count drops a moment before a closed socket's "close": count here too.
    if (open >= limits.maxConnectionsPerClient || stats.connections >= limits.maxConnections) {
      stats.connectionsRefused++;
      socket.destroy();
      return;
    }
    perClient.set(client, open + 1);
    stats.connections++;
    stats.connectionsPeak = Math.max(stats.connectionsPeak, stats.connections);
    socket.once("close", () => {
      stats.connections--;
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
  });
}

/**
 * Requests node:http would answer itself, without a body of ours: an `Expect` other than
 * 100-continue (417) and CONNECT (which we do not proxy: 405). Both in the JSON format.
 */
export function answerBelowRoutes(server: Server): void {
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({
      error: "ExpectationFailed",
      message: "only Expect: 100-continue is supported",
    });
    req.resume();
    res.writeHead(417, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      connection: "close",
    });
    res.end(body);
  });
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    answerAndClose(
      socket,
      rawErrorResponse(405, "CONNECT is not supported", "Allow: GET, POST\r\n"),
    );
  });
}

/** Waiters for a few slots, first come first served. */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly slots: number) {}

  acquire(): Promise<void> {
    if (this.active < this.slots) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/**
 * Bytes per client in the current one-second window. The window's map is dropped whole when the
 * next begins, so it holds only the clients of one second.
 */
class ByteBudget {
  private window = 0;
  private used = new Map<string, number>();
  constructor(private readonly perSecond: number) {}

  private roll(): void {
    const window = Math.floor(Date.now() / 1000);
    if (window !== this.window) {
      this.window = window;
      this.used = new Map();
    }
  }

  spent(client: string): boolean {
    this.roll();
    return this.perSecond > 0 && (this.used.get(client) ?? 0) >= this.perSecond;
  }

  charge(client: string, bytes: number): void {
    this.roll();
    this.used.set(client, (this.used.get(client) ?? 0) + bytes);
  }

  msLeft(): number {
    return 1000 - (Date.now() % 1000);
  }
}

function payloadBytes(payload: unknown): number {
  if (typeof payload === "string") return Buffer.byteLength(payload);
  if (payload instanceof Uint8Array) return payload.length;
  return 0;
}

function tooMany(reply: FastifyReply, retryMs: number, what: string): never {
  reply.header("retry-after", String(Math.max(1, Math.ceil(retryMs / 1000))));
  throw httpError(429, `${what}; retry in ${retryMs} ms`);
}

const MEDIA_CHARSET = "utf-8";

/** 415 unless the request's Content-Encoding is absent or identity and its charset UTF-8. */
function checkEncoding(request: FastifyRequest): void {
  const encoding = request.headers["content-encoding"];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity")
    throw new HttpError(
      415,
      UNSUPPORTED_ENCODING,
      `Content-Encoding ${encoding} is not supported: send the body uncompressed`,
    );
  const type = request.headers["content-type"];
  if (type === undefined) return;
  let charset: string | null;
  try {
    charset = new MIMEType(type).params.get("charset");
  } catch {
    throw httpError(415, `Content-Type ${type} does not parse`);
  }
  if (charset !== null && charset.toLowerCase() !== MEDIA_CHARSET)
    throw httpError(415, `charset ${charset} is not supported: bodies are UTF-8`);
}

export function urlTooLong(limits: ApiLimits): HttpError {
  return httpError(414, `the request target is over ${limits.maxUrlChars} characters`);
}

function isRead(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

/**
 * The checks every request passes before its route: the server is not closing (503), HTTP/1.1
 * requests name a Host (400), the target is not too long (414), reads stay within the client's
 * rate (429) and, on the routes that build large answers, within its byte budget of such answers
 * (429), the body is neither compressed nor in a charset other than UTF-8 (415); then the routes
 * that build large answers take a turn at the gate, so that only a few such answers are in memory
 * at once, and their client must take the answer in time or lose the connection.
 */
export function registerRequestGuards(
  app: FastifyInstance,
  limits: ApiLimits,
  stats: ApiStats,
): void {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });

  const readLimit =
    limits.getRatePerSecond > 0
      ? app.createRateLimit({ max: limits.getRatePerSecond, timeWindow: 1000 })
      : undefined;
  const heavyBytes = new ByteBudget(limits.heavyBytesPerSecond);
  const gate = new Gate(limits.heavyConcurrency);

  app.addHook("onRequest", async (request, reply) => {
    if (closing) throw httpError(503, "the node is shutting down");
    const raw = request.raw;
    if (raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1 && raw.headers.host === undefined)
      throw httpError(400, "an HTTP/1.1 request needs a Host header");
    if ((raw.url ?? "").length > limits.maxUrlChars) throw urlTooLong(limits);
    const heavy = request.routeOptions.config?.heavy === true;
    if (readLimit && isRead(request.method)) {
      const result = await readLimit(request);
      if (!result.isAllowed && result.isExceeded)
        tooMany(reply, result.ttl, `more than ${result.max} reads a second`);
    }
    checkEncoding(request);
    if (!heavy) return;
    // The budget is read in turn: answers built before this one have been charged.
    await takeTurn(request, reply);
    if (heavyBytes.spent(request.ip))
      tooMany(
        reply,
        heavyBytes.msLeft(),
        `more than ${limits.heavyBytesPerSecond} bytes a second of large answers`,
      );
  });

  app.addHook("onSend", async (request, _reply, payload) => {
    if (request.routeOptions.config?.heavy === true)
      heavyBytes.charge(request.ip, payloadBytes(payload));
    return payload;
  });

  /** Holds a gate slot until the answer is sent or its connection closes. */
  async function takeTurn(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await gate.acquire();
    stats.largeAnswers++;
    stats.largeAnswersPeak = Math.max(stats.largeAnswersPeak, stats.largeAnswers);
    const res = reply.raw;
    let held = true;
    const deadline = setTimeout(() => request.raw.socket?.destroy(), limits.heavySendTimeoutMs);
    const release = () => {
      if (!held) return;
      held = false;
      stats.largeAnswers--;
      clearTimeout(deadline);
      gate.release();
    };
    if (res.closed || request.raw.destroyed) release();
    else res.once("close", release);
  }
}

/**
 * Unknown routes: 405 with `Allow` when the path exists under other methods, else 404. The
 * routes are mirrored, as they are added, into a router of our own (find-my-way, the one Fastify
 * uses), which can be asked for a concrete path under each method.
 */
export function registerMethodCheck(app: FastifyInstance): void {
  const mirror = FindMyWay();
  const methods = new Set<HTTPMethod>();
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat() as HTTPMethod[]) {
      methods.add(method);
      try {
        mirror.on(method, route.url ?? route.path, () => {});
      } catch {
        // Already mirrored (a route registered twice under a constraint): nothing to add.
      }
    }
  });
  app.setNotFoundHandler((request, reply) => {
    const path = (request.raw.url ?? "/").split("?")[0] ?? "/";
    // A route of this method that found nothing to serve (a static file) is a plain 404.
    const allowed = found(request.method as HTTPMethod, path)
      ? []
      : [...methods].filter((m) => found(m, path));
    if (allowed.length > 0) {
      reply.header("allow", allowed.join(", "));
      errorHandler(
        httpError(
          405,
          `${request.method} is not allowed on ${path}; allowed: ${allowed.join(", ")}`,
        ),
        request,
        reply,
      );
      return;
    }
    errorHandler(httpError(404, `no route ${request.method} ${path}`), request, reply);
  });

  function found(method: HTTPMethod, path: string): boolean {
    try {
      return mirror.find(method, path) !== null;
    } catch {
      return false;
    }
  }
}

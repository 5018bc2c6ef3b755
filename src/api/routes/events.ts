import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { blockToJson } from "../../core/block.js";
import { transactionToJson } from "../../core/transaction.js";
import { httpError } from "../errors.js";
import { type ApiLimits, DEFAULT_API_LIMITS } from "../limits.js";
import type { NodeApi, NodeEvents } from "../ports.js";

const KEEPALIVE_MS = 15_000;
const EVENT_TYPES = ["block", "transaction", "reorg", "slashing"] as const;
type EventType = (typeof EVENT_TYPES)[number];
const KEEPALIVE = Buffer.from(": keepalive\n\n");
/** Open event streams at once by default; more are refused with 429 (ApiLimits.maxEventStreams). */
export const MAX_EVENT_CLIENTS = DEFAULT_API_LIMITS.maxEventStreams;

/**
 * Server-sent events: `block`, `transaction`, `reorg` and `slashing`, as they happen. One set of listeners on
 * the node serves every client: each event is serialised once, into one Buffer that every
 * stream's queue shares (a string would be copied into each), so clients that stop reading cost
 * the frames, not the frames times the clients; such a client is dropped once
 * `eventBufferBytes` wait for it. The streams end when the server closes (an open explorer page
 * must not keep a node from stopping).
 */
export function registerEventRoutes(app: FastifyInstance, node: NodeApi, limits: ApiLimits): void {
  /** Open streams and the events each one asked for. */
  const clients = new Map<ServerResponse, ReadonlySet<EventType>>();
  /** Streams a type, per type: an event nobody asked for is not even serialised. */
  const wanting = new Map<EventType, number>(EVENT_TYPES.map((t) => [t, 0]));

  const forget = (res: ServerResponse) => {
    const types = clients.get(res);
    if (!types) return;
    clients.delete(res);
    for (const t of types) wanting.set(t, wanting.get(t)! - 1);
  };
  const drop = (res: ServerResponse) => {
    forget(res);
    res.destroy();
  };
  /**
   * What each stream had left unread when this turn of the event loop wrote its first frame. A
   * client is judged by that, not by the frames of the turn itself: a reorganisation applies its
   * blocks in one turn, and a client reading as fast as it can has had no chance to read them
   * (three blocks of a thousand transactions are more than the limit; judged frame by frame, it
   * was dropped at the third). What waits for a client is then at most the limit plus one turn's
   * frames, and those are shared by every client.
   */
  let turnBacklog: Map<ServerResponse, number> | undefined;
  const broadcast = (event: EventType, data: () => unknown) => {
    if (wanting.get(event) === 0) return;
    const frame = Buffer.from(`event: ${event}\ndata: ${JSON.stringify(data())}\n\n`);
    if (!turnBacklog) {
      turnBacklog = new Map();
      setImmediate(() => {
        turnBacklog = undefined;
      });
    }
    for (const [res, types] of clients) {
      if (!types.has(event)) continue;
      let unread = turnBacklog.get(res);
      if (unread === undefined) {
        unread = res.writableLength;
        turnBacklog.set(res, unread);
      }
      if (unread > limits.eventBufferBytes) drop(res);
      else res.write(frame);
    }
  };
  const onBlock = (block: NodeEvents["block"][0]) => broadcast("block", () => blockToJson(block));
  const onTx = (tx: NodeEvents["transaction"][0]) =>
    broadcast("transaction", () => transactionToJson(tx));
  const onReorg = (reorg: NodeEvents["reorg"][0]) => broadcast("reorg", () => reorg);
  const onSlashing = (slashing: NodeEvents["slashing"][0]) => broadcast("slashing", () => slashing);
  const keepalive = setInterval(() => {
    for (const res of clients.keys()) res.write(KEEPALIVE);
  }, KEEPALIVE_MS);
  keepalive.unref();
  node.events.on("block", onBlock);
  node.events.on("transaction", onTx);
  node.events.on("reorg", onReorg);
  node.events.on("slashing", onSlashing);

  // Before the server waits for its connections to end: end ours.
  app.addHook("preClose", async () => {
    for (const res of clients.keys()) res.end();
    clients.clear();
    for (const t of EVENT_TYPES) wanting.set(t, 0);
  });
  app.addHook("onClose", async () => {
    clearInterval(keepalive);
    node.events.off("block", onBlock);
    node.events.off("transaction", onTx);
    node.events.off("reorg", onReorg);
    node.events.off("slashing", onSlashing);
  });

  app.get<{ Querystring: { types?: string } }>(
    "/v1/events",
    {
      schema: {
        tags: ["v1"],
        summary: "server-sent events: block, transaction, reorg, slashing",
        description:
          "`types` (optional, comma-separated) keeps the stream to those events: a client that " +
          "follows blocks does not make the node serialise every transaction.",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            types: {
              type: "string",
              pattern: `^(${EVENT_TYPES.join("|")})(,(${EVENT_TYPES.join("|")}))*$`,
            },
          },
        },
      },
    },
    (request, reply) => {
      const headers = { "content-type": "text/event-stream", "cache-control": "no-cache" };
      // HEAD: the head of a stream, and no stream (a HEAD never carries the body that would
      // flush it, so its head would wait forever).
      if (request.method === "HEAD") return reply.headers(headers).send();
      if (clients.size >= limits.maxEventStreams)
        throw httpError(429, `more than ${limits.maxEventStreams} event streams open`);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { ...headers, connection: "keep-alive" });
      res.write(": lotchain events\n\n");
      const types = new Set(
        (request.query.types?.split(",") as EventType[] | undefined) ?? EVENT_TYPES,
      );
      clients.set(res, types);
      for (const t of types) wanting.set(t, wanting.get(t)! + 1);
      const gone = () => forget(res);
      request.raw.on("close", gone);
      res.on("close", gone);
      res.on("error", gone);
    },
  );
}

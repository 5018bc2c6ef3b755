import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { blockToJson } from "../../core/block.js";
import { transactionToJson } from "../../core/transaction.js";
import { HttpError } from "../errors.js";
import type { NodeApi, NodeEvents } from "../ports.js";

const KEEPALIVE_MS = 15_000;
/** A client that stops reading is dropped once this much is queued for it. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Open event streams at once; more are refused with 429 (each holds a socket and a buffer). */
export const MAX_EVENT_CLIENTS = 256;

/**
 * Server-sent events: `block`, `transaction`, `reorg` and `slashing`, as they happen. One set of listeners on
 * the node serves every client: each event is serialised once and written to every stream. The
 * streams end when the server closes (an open explorer page must not keep a node from stopping).
 */
export function registerEventRoutes(app: FastifyInstance, node: NodeApi): void {
  const clients = new Set<ServerResponse>();

  const drop = (res: ServerResponse) => {
    clients.delete(res);
    res.destroy();
  };
  const broadcast = (event: keyof NodeEvents, data: () => unknown) => {
    if (clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data())}\n\n`;
    for (const res of clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) drop(res);
      else res.write(frame);
    }
  };
  const onBlock = (block: NodeEvents["block"][0]) => broadcast("block", () => blockToJson(block));
  const onTx = (tx: NodeEvents["transaction"][0]) =>
    broadcast("transaction", () => transactionToJson(tx));
  const onReorg = (reorg: NodeEvents["reorg"][0]) => broadcast("reorg", () => reorg);
  const onSlashing = (slashing: NodeEvents["slashing"][0]) => broadcast("slashing", () => slashing);
  const keepalive = setInterval(() => {
    for (const res of clients) res.write(": keepalive\n\n");
  }, KEEPALIVE_MS);
  keepalive.unref();
  node.events.on("block", onBlock);
  node.events.on("transaction", onTx);
  node.events.on("reorg", onReorg);
  node.events.on("slashing", onSlashing);

  // Before the server waits for its connections to end: end ours.
  app.addHook("preClose", async () => {
    for (const res of clients) res.end();
    clients.clear();
  });
  app.addHook("onClose", async () => {
    clearInterval(keepalive);
    node.events.off("block", onBlock);
    node.events.off("transaction", onTx);
    node.events.off("reorg", onReorg);
    node.events.off("slashing", onSlashing);
  });

  app.get(
    "/v1/events",
    {
      schema: { tags: ["v1"], summary: "server-sent events: block, transaction, reorg, slashing" },
    },
    (request, reply) => {
      if (clients.size >= MAX_EVENT_CLIENTS)
        throw new HttpError(
          429,
          "RateLimited",
          `more than ${MAX_EVENT_CLIENTS} event streams open`,
        );
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      res.write(": lotchain events\n\n");
      clients.add(res);
      const forget = () => clients.delete(res);
      request.raw.on("close", forget);
      res.on("close", forget);
      res.on("error", forget);
    },
  );
}

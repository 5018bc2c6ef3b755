import type { FastifyInstance } from "fastify";
import { blockToJson } from "../../core/block.js";
import { transactionToJson } from "../../core/transaction.js";
import type { NodeApi, NodeEvents } from "../ports.js";

const KEEPALIVE_MS = 15_000;
/** A client that stops reading is dropped once this much is queued for it. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Server-sent events: `block`, `transaction` and `reorg`, as they happen. */
export function registerEventRoutes(app: FastifyInstance, node: NodeApi): void {
  app.get(
    "/v1/events",
    { schema: { tags: ["v1"], summary: "server-sent events: block, transaction, reorg" } },
    (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      res.write(": lotchain events\n\n");
      const send = (event: keyof NodeEvents, data: unknown) => {
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          cleanup();
          res.destroy();
          return;
        }
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const onBlock = (block: NodeEvents["block"][0]) => send("block", blockToJson(block));
      const onTx = (tx: NodeEvents["transaction"][0]) => send("transaction", transactionToJson(tx));
      const onReorg = (reorg: NodeEvents["reorg"][0]) => send("reorg", reorg);
      node.events.on("block", onBlock);
      node.events.on("transaction", onTx);
      node.events.on("reorg", onReorg);
      const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
      const cleanup = () => {
        clearInterval(keepalive);
        node.events.off("block", onBlock);
        node.events.off("transaction", onTx);
        node.events.off("reorg", onReorg);
      };
      request.raw.on("close", cleanup);
      res.on("error", cleanup);
    },
  );
}

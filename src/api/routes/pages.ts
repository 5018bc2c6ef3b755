import type { FastifyInstance } from "fastify";
import { registerExplorer } from "../explorer.js";
import type { NodeApi } from "../ports.js";

/** The explorer (its page at / and its data routes) and Prometheus metrics at /metrics. */
export function registerPageRoutes(app: FastifyInstance, node: NodeApi): void {
  registerExplorer(app, node);
  app.get(
    "/metrics",
    { schema: { tags: ["ops"], summary: "Prometheus metrics" } },
    async (_request, reply) =>
      reply.type(node.metrics.contentType).send(await node.metrics.metrics()),
  );
}

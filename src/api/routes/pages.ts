import type { FastifyInstance } from "fastify";
import { EXPLORER_HTML } from "../explorer.js";
import type { NodeApi } from "../ports.js";

/** The explorer page at / and Prometheus metrics at /metrics. */
export function registerPageRoutes(app: FastifyInstance, node: NodeApi): void {
  app.get("/", { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .header(
        "content-security-policy",
        "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
      )
      .send(EXPLORER_HTML),
  );
  app.get(
    "/metrics",
    { schema: { tags: ["ops"], summary: "Prometheus metrics" } },
    async (_request, reply) =>
      reply.type(node.metrics.contentType).send(await node.metrics.metrics()),
  );
}

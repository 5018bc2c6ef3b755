import type { FastifyInstance } from "fastify";
import { transactionFromJson, transactionToJson } from "../../core/transaction.js";
import { NODE_NAME, VERSION } from "../../version.js";
import { HEAVY } from "../guards.js";
import type { ApiLimits } from "../limits.js";
import type { NodeApi } from "../ports.js";
import { errorResponses, RANGE_QUERY } from "../schemas.js";
import { sendBlockRange } from "../views.js";

/** The Python seed's four routes, kept for its users and scripts. */
export function registerLegacyRoutes(
  app: FastifyInstance,
  node: NodeApi,
  postLimit: object,
  limits: ApiLimits,
): void {
  app.get(
    "/info",
    { schema: { tags: ["seed"], summary: "node name, version, chain id" } },
    async () => ({
      name: NODE_NAME,
      version: VERSION,
      chainId: node.genesis.chainId,
      consensus: node.genesis.consensus.type,
      genesisHash: node.chain.genesisHash,
      height: node.chain.head.height,
      peerId: node.network().peerId,
    }),
  );

  app.get<{ Querystring: { from: number; limit: number } }>(
    "/blockchain",
    {
      config: HEAVY,
      schema: {
        tags: ["seed"],
        summary: "blocks of the main chain in height order",
        querystring: RANGE_QUERY,
        response: errorResponses(400, 429),
      },
    },
    async (request, reply) =>
      sendBlockRange(reply, node.chain, request.query, limits.rangeResponseBytes),
  );

  app.get(
    "/transactionPool",
    { config: HEAVY, schema: { tags: ["seed"], summary: "pending transactions" } },
    async () => node.mempool.all().map(transactionToJson),
  );

  app.post<{ Body: { transaction: unknown } }>(
    "/transaction",
    {
      config: postLimit,
      schema: {
        tags: ["seed"],
        summary: "submit a signed transaction",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["transaction"],
          properties: { transaction: { $ref: "Transaction#" } },
        },
        response: {
          201: {
            type: "object",
            properties: { message: { type: "string" }, id: { type: "string" } },
          },
          ...errorResponses(400, 409, 413, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const tx = transactionFromJson(request.body.transaction);
      const { id } = await node.submitTransaction(tx);
      return reply.code(201).send({ message: "transaction accepted", id });
    },
  );
}

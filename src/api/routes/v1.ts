import type { FastifyInstance } from "fastify";
import { accountProofToJson } from "../../core/account-proof.js";
import { type Block, blockToJson } from "../../core/block.js";
import { toHex } from "../../core/bytes.js";
import { isAddress } from "../../core/keys.js";
import { accountToJson } from "../../core/state.js";
import { transactionFromJson, transactionToJson } from "../../core/transaction.js";
import { VERSION } from "../../version.js";
import { badRequest, notFound } from "../errors.js";
import { HEAVY } from "../guards.js";
import type { ApiLimits } from "../limits.js";
import type { NodeApi } from "../ports.js";
import { errorResponses, RANGE_QUERY } from "../schemas.js";
import { accountView, sendBlockRange, validatorsView } from "../views.js";

const HASH_RE = /^[0-9a-fA-F]{64}$/;

/**
 * A block of SPEC section 6 by id: a height, a hash, head, genesis or finalized (the chain reads
 * the id; anything else is Malformed, a 400).
 */
async function findBlock(node: NodeApi, id: string): Promise<Block> {
  const block = await node.chain.getBlock(id);
  if (!block) throw notFound(`no block ${id}`);
  return block;
}

export function registerV1Routes(
  app: FastifyInstance,
  node: NodeApi,
  postLimit: object,
  limits: ApiLimits,
): void {
  app.get(
    "/v1/status",
    { schema: { tags: ["v1"], summary: "chain, sync and network status" } },
    async () => {
      const net = node.network();
      const g = node.genesis;
      return {
        chainId: g.chainId,
        consensus: g.consensus.type,
        height: node.chain.head.height,
        headHash: node.chain.head.hashHex,
        finalizedHeight: node.chain.finalizedHeight,
        genesisHash: node.chain.genesisHash,
        peerId: net.peerId,
        listenAddresses: net.listenAddresses,
        peers: net.peers.length,
        syncing: net.syncing,
        syncTargetHeight: net.syncTargetHeight,
        syncBlocksPerSecond: net.syncBlocksPerSecond,
        mempoolSize: node.mempool.size,
        minFee: g.minFee.toString(),
        version: VERSION,
      };
    },
  );

  app.get<{ Querystring: { from: number; limit: number } }>(
    "/v1/blocks",
    {
      config: HEAVY,
      schema: {
        tags: ["v1"],
        summary: "main-chain blocks from a height",
        description:
          "At most limit blocks, and fewer when their JSON would pass the answer's byte budget " +
          "(4 MiB by default; the first block is always given): page on from the last height.",
        querystring: RANGE_QUERY,
        response: errorResponses(400, 429),
      },
    },
    async (request, reply) =>
      sendBlockRange(reply, node.chain, request.query, limits.rangeResponseBytes),
  );

  app.get<{ Params: { id: string } }>(
    "/v1/blocks/:id",
    {
      schema: {
        tags: ["v1"],
        summary: "one block by height, hash, head, genesis or finalized",
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } } },
        response: errorResponses(400, 404),
      },
    },
    async (request) => blockToJson(await findBlock(node, request.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    "/v1/transactions/:id",
    {
      schema: {
        tags: ["v1"],
        summary: "a transaction with its status (pending or included)",
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } } },
        response: errorResponses(400, 404),
      },
    },
    async (request) => {
      const id = request.params.id.toLowerCase();
      if (!HASH_RE.test(id)) throw badRequest("transaction id must be 64 hex digits");
      const included = await node.chain.getTransaction(id);
      if (included)
        return {
          ...transactionToJson(included.tx),
          status: "included",
          height: included.height,
          blockHash: included.blockHash,
        };
      const pending = node.mempool.get(id);
      if (pending) return { ...transactionToJson(pending), status: "pending" };
      throw notFound(`no transaction ${id}`);
    },
  );

  app.post<{ Body: unknown }>(
    "/v1/transactions",
    {
      config: postLimit,
      schema: {
        tags: ["v1"],
        summary: "submit a signed transaction",
        body: { $ref: "Transaction#" },
        response: {
          202: { type: "object", properties: { id: { type: "string" } } },
          ...errorResponses(400, 409, 413, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const tx = transactionFromJson(request.body);
      const { id } = await node.submitTransaction(tx);
      return reply.code(202).send({ id });
    },
  );

  app.get<{ Params: { address: string }; Querystring: { block?: string } }>(
    "/v1/accounts/:address/proof",
    {
      schema: {
        tags: ["v1"],
        summary: "an account with its proof against a block's state root",
        description:
          "`block`: a height, a hash, `head` (default) or `finalized`; the node keeps the state " +
          "trees of the main chain from its finalized block up. An absent account is proven absent " +
          "(`account` null). See docs/storage.md for the proof format and how to check it.",
        params: { type: "object", properties: { address: { type: "string", maxLength: 100 } } },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            block: {
              type: "string",
              pattern: "^([0-9]{1,15}|[0-9a-fA-F]{64}|head|finalized|genesis)$",
            },
          },
        },
        response: errorResponses(400, 404),
      },
    },
    async (request) => {
      const { address } = request.params;
      if (!isAddress(address)) throw badRequest(`not a valid lotchain address: ${address}`);
      const block = request.query.block ?? "head";
      const id = /^[0-9]+$/.test(block) ? Number(block) : block.toLowerCase();
      const found = await node.chain.accountProof(address, id);
      if (!found)
        throw notFound(
          `no state tree of block ${block} here: main-chain blocks from the finalized one up only`,
        );
      return {
        account: found.account ? { address, ...accountToJson(found.account) } : null,
        height: found.height,
        blockHash: found.blockHash,
        stateRoot: toHex(found.stateRoot),
        proof: accountProofToJson(found.key, found.proof),
      };
    },
  );

  app.get<{ Params: { address: string } }>(
    "/v1/accounts/:address",
    {
      schema: {
        tags: ["v1"],
        summary: "balance, stake, nonce and pending nonce of an address",
        params: { type: "object", properties: { address: { type: "string", maxLength: 100 } } },
        response: { 200: { $ref: "Account#" }, ...errorResponses(400) },
      },
    },
    async (request) => {
      const { address } = request.params;
      if (!isAddress(address)) throw badRequest(`not a valid lotchain address: ${address}`);
      return accountView(node.chain, node.mempool, address);
    },
  );

  app.get<{ Params: { address: string }; Querystring: { limit: number; before?: string } }>(
    "/v1/accounts/:address/transactions",
    {
      schema: {
        tags: ["v1"],
        summary: "main-chain transactions an address sent or received, newest first",
        description:
          "`before` pages on: a transaction id (the last one of the previous page) or a height.",
        params: { type: "object", properties: { address: { type: "string", maxLength: 100 } } },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
            before: { type: "string", pattern: "^([0-9]{1,15}|[0-9a-fA-F]{64})$" },
          },
        },
        response: errorResponses(400, 404),
      },
    },
    async (request) => {
      const { address } = request.params;
      if (!isAddress(address)) throw badRequest(`not a valid lotchain address: ${address}`);
      const { limit, before } = request.query;
      let cursor: { height: number; index?: number } | undefined;
      if (before !== undefined && before.length === 64) {
        const at = await node.chain.getTransaction(before.toLowerCase());
        if (!at || (at.tx.sender !== address && at.tx.receiver !== address))
          throw notFound(`no transaction ${before} of ${address} on the main chain`);
        cursor = { height: at.height, index: at.index };
      } else if (before !== undefined) cursor = { height: Number(before) };
      const found = await node.chain.getAccountTransactions(address, limit, cursor);
      return {
        transactions: found.map(({ tx, height, blockHash }) => ({
          ...transactionToJson(tx),
          height,
          blockHash,
        })),
      };
    },
  );

  app.get(
    "/v1/validators",
    { schema: { tags: ["v1"], summary: "validators and their stakes" } },
    async () => validatorsView(node.chain),
  );

  app.get("/v1/peers", { schema: { tags: ["v1"], summary: "connected peers" } }, async () => ({
    peers: node.network().peers,
  }));

  app.get(
    "/v1/mempool",
    { config: HEAVY, schema: { tags: ["v1"], summary: "pending transactions" } },
    async () => ({
      transactions: node.mempool.all().map(transactionToJson),
    }),
  );
}

import type { FastifyInstance } from "fastify";
import { isValidationError } from "../../core/errors.js";
import { type Transaction, transactionFromJson } from "../../core/transaction.js";
import { errorResponse, HTTP_ERROR_CODES, statusOfRejection } from "../errors.js";
import type { NodeApi } from "../ports.js";
import { errorResponses } from "../schemas.js";
import { TxBudget } from "../tx-budget.js";
import { transactionBodyError } from "../validation.js";

/** Transactions in one batch (SPEC section 6). */
export const MAX_BATCH_TRANSACTIONS = 1000;

/** One transaction's outcome: the status and error body a single POST would have answered. */
export interface BatchResult {
  /** The transaction's id; null when it did not parse (so it has none). */
  id: string | null;
  status: number;
  error?: string;
  message?: string;
}

const RESULT_SCHEMA = {
  type: "object",
  required: ["id", "status"],
  properties: {
    id: { type: ["string", "null"] },
    status: { type: "integer" },
    error: { type: "string" },
    message: { type: "string" },
  },
} as const;

/**
 * POST /v1/transactions/batch: up to MAX_BATCH_TRANSACTIONS signed transactions, each judged on
 * its own exactly as POST /v1/transactions would judge it (schema, parse, the mempool's rules,
 * the signature), in input order. The signatures of the whole batch are verified together in the
 * node's worker pool, which is what makes the route the fast way in. 200 with one result per
 * transaction; an envelope that is not `{ "transactions": [1..1000 items] }` is a 400.
 *
 * Rate limit: the request counts once against the POST limit like any POST, and each transaction
 * takes one from its client's budget of the same number a second (TxBudget): those past it get
 * the 429 a single POST would have got, and the rest of the batch is judged.
 */
export function registerBatchRoute(
  app: FastifyInstance,
  node: NodeApi,
  postLimit: object,
  rateLimitPerSecond: number,
): void {
  const budget = new TxBudget(rateLimitPerSecond);
  app.post<{ Body: { transactions: unknown[] } }>(
    "/v1/transactions/batch",
    {
      config: postLimit,
      schema: {
        tags: ["v1"],
        summary: "submit up to 1,000 signed transactions, each judged on its own",
        description:
          "Each result carries the status (and error body) a single POST /v1/transactions would " +
          "have answered for that transaction, in input order.",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["transactions"],
          properties: {
            transactions: {
              type: "array",
              minItems: 1,
              maxItems: MAX_BATCH_TRANSACTIONS,
              description: "transaction JSON objects, as POST /v1/transactions takes one",
            },
          },
        },
        response: {
          200: {
            type: "object",
            required: ["results"],
            properties: { results: { type: "array", items: RESULT_SCHEMA } },
          },
          ...errorResponses(400, 413, 429),
        },
      },
    },
    async (request) => {
      const items = request.body.transactions;
      const results = new Array<BatchResult>(items.length);
      const granted = budget.take(request.ip, items.length);
      const txs: Transaction[] = [];
      const at: number[] = [];
      for (let i = 0; i < items.length; i++) {
        if (i >= granted) {
          results[i] = {
            id: null,
            status: 429,
            error: HTTP_ERROR_CODES[429],
            message: `more than ${rateLimitPerSecond} transactions per second; retry in 1 second`,
          };
          continue;
        }
        const schemaError = transactionBodyError(items[i], `body/transactions/${i}`);
        if (schemaError) {
          results[i] = failure(null, schemaError);
          continue;
        }
        try {
          txs.push(transactionFromJson(items[i]));
          at.push(i);
        } catch (e) {
          if (!isValidationError(e)) throw e;
          results[i] = failure(null, e);
        }
      }
      const errors = txs.length > 0 ? await node.submitTransactions(txs) : [];
      for (let k = 0; k < txs.length; k++) {
        const tx = txs[k]!;
        const e = errors[k];
        results[at[k]!] = e
          ? { id: tx.id, status: statusOfRejection(e), error: e.code, message: e.message }
          : { id: tx.id, status: 202 };
      }
      return { results };
    },
  );
}

function failure(id: string | null, e: Error): BatchResult {
  const { status, body } = errorResponse(e);
  return { id, status, error: body.error, message: body.message };
}

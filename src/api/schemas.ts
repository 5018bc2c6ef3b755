import { BLOCK_JSON_SCHEMA } from "../core/block.js";
import { TRANSACTION_JSON_SCHEMA } from "../core/transaction.js";

/** Shared JSON schemas: the core's transaction and block schemas, plus the API's own shapes. */
export const ERROR_SCHEMA = {
  $id: "Error",
  type: "object",
  properties: { error: { type: "string" }, message: { type: "string" } },
  required: ["error", "message"],
} as const;

export const ACCOUNT_SCHEMA = {
  $id: "Account",
  type: "object",
  properties: {
    address: { type: "string" },
    balance: { type: "string" },
    stake: { type: "string" },
    nonce: { type: "integer", description: "next nonce by the chain" },
    pendingNonce: { type: "integer", description: "next nonce counting the mempool" },
    unbonding: {
      type: "array",
      description: "stake on its way back to the balance (PoS): spendable from releaseSlot on",
      items: {
        type: "object",
        properties: { amount: { type: "string" }, releaseSlot: { type: "integer" } },
      },
    },
    slashed: { type: "boolean", description: "whether this account was ever slashed" },
  },
} as const;

export const SHARED_SCHEMAS = [
  TRANSACTION_JSON_SCHEMA,
  BLOCK_JSON_SCHEMA,
  ERROR_SCHEMA,
  ACCOUNT_SCHEMA,
];

export const RANGE_QUERY = {
  type: "object",
  additionalProperties: false,
  properties: {
    from: { type: "integer", minimum: 0, default: 0 },
    limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  },
} as const;

/** The media type of every JSON answer. */
export const JSON_TYPE = "application/json; charset=utf-8";

export const errorResponses = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { $ref: "Error#" }]));

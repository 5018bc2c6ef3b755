import type { KeyObject } from "node:crypto";
import { equalBytes } from "./bytes.js";
import { CborReader, decodeCanonical, encodeCanonical } from "./encoding.js";
import { reject } from "./errors.js";
import {
  decodeEvidence,
  type Evidence,
  type EvidenceJson,
  evidenceFromJson,
  evidenceToJson,
  MAX_BLOCK_EVIDENCE,
} from "./evidence.js";
import {
  type BlockHeader,
  blockSigningBytes,
  HEADER_JSON_PROPERTIES,
  HEADER_JSON_REQUIRED,
  type HeaderJson,
  headerFromItems,
  headerFromJson,
  headerItems,
  headerToJson,
  signedHeader,
} from "./header.js";
import { SIGNATURE_BYTES, sign, verify } from "./keys.js";
import { merkleRoot } from "./merkle.js";
import {
  decodeTransaction,
  MAX_TX_BYTES,
  type Transaction,
  type TransactionJson,
  transactionFromJson,
  transactionIdOf,
  transactionToJson,
} from "./transaction.js";

export {
  type BlockHeader,
  blockSigningBytes,
  encodeHeader,
  GENESIS_SEED_BYTES,
  HASH_BYTES,
  type HeaderJson,
  hashHeader,
  headerRandomness,
  POW_NONCE_BYTES,
  type Seal,
  type SignedHeader,
} from "./header.js";

/** Limits of one block, enforced on decode and on production. */
export const MAX_BLOCK_TRANSACTIONS = 5_000;
export const MAX_BLOCK_BYTES = 1_572_864;
export { MAX_BLOCK_EVIDENCE };

export interface Block {
  header: BlockHeader;
  signature: Uint8Array;
  transactions: Transaction[];
  /** Slashing evidence the block includes (PoS), applied before its transactions. */
  evidence: Evidence[];
  /** Domain-separated hash of the header encoding (the PoW hash under PoW). */
  readonly hash: Uint8Array;
  readonly hashHex: string;
  /** Canonical encoding of the whole block (header, signature, transactions, evidence). */
  readonly encoded: Uint8Array;
}

export interface BlockJson extends HeaderJson {
  transactions: TransactionJson[];
  evidence: EvidenceJson[];
}

export function makeBlock(
  header: BlockHeader,
  signature: Uint8Array,
  transactions: Transaction[],
  evidence: Evidence[] = [],
): Block {
  const { hash, hashHex } = signedHeader(header, signature);
  const encoded = encodeCanonical([
    headerItems(header),
    signature,
    transactions.map((tx) => tx.encoded),
    evidence.map((e) => e.encoded),
  ]);
  return { header, signature, transactions, evidence, hash, hashHex, encoded };
}

export function computeTxRoot(transactions: readonly Transaction[]): Uint8Array {
  return merkleRoot(transactions.map((tx) => tx.id));
}

export function computeEvidenceRoot(evidence: readonly Evidence[]): Uint8Array {
  return merkleRoot(evidence.map((e) => e.id));
}

/** Builds and signs a block: computes the Merkle roots of its transactions and evidence. */
export function sealBlock(
  header: Omit<BlockHeader, "txRoot" | "evidenceRoot">,
  transactions: Transaction[],
  privateKey: KeyObject,
  evidence: Evidence[] = [],
): Block {
  const full: BlockHeader = {
    ...header,
    txRoot: computeTxRoot(transactions),
    evidenceRoot: computeEvidenceRoot(evidence),
  };
  const { hash } = signedHeader(full, new Uint8Array(SIGNATURE_BYTES));
  return makeBlock(full, sign(blockSigningBytes(hash), privateKey), transactions, evidence);
}

export function verifyBlockSignature(block: Block): boolean {
  return verify(blockSigningBytes(block.hash), block.signature, block.header.forger);
}

/**
 * Decodes a block's canonical encoding; rejects oversized, malformed or non-canonical input.
 * `known`: transactions already decoded (a node's pending ones), by id: an item whose bytes hash
 * to a known id is that transaction (the id hashes exactly those bytes) and is not decoded again.
 */
export function decodeBlock(
  bytes: Uint8Array,
  known?: (id: string) => Transaction | undefined,
): Block {
  if (bytes.length > MAX_BLOCK_BYTES) reject("TooLarge", `block exceeds ${MAX_BLOCK_BYTES} bytes`);
  const r = CborReader.of(decodeCanonical(bytes, "block"), "block", 4);
  const header = headerFromItems(r.array());
  const signature = r.bytes(SIGNATURE_BYTES);
  const txItems = r.array();
  if (txItems.length > MAX_BLOCK_TRANSACTIONS)
    reject("TooManyTransactions", `block has more than ${MAX_BLOCK_TRANSACTIONS} transactions`);
  // Each transaction and each piece of evidence travels as a byte string of its own canonical
  // encoding.
  const transactions = txItems.map((item) => {
    if (!(item instanceof Uint8Array))
      return reject("Malformed", "block: transactions must be bytes");
    return (
      (known && item.length <= MAX_TX_BYTES && known(transactionIdOf(item))) ||
      decodeTransaction(item)
    );
  });
  const evidenceItems = r.array();
  if (evidenceItems.length > MAX_BLOCK_EVIDENCE)
    reject("TooMuchEvidence", `block has more than ${MAX_BLOCK_EVIDENCE} pieces of evidence`);
  const evidence = evidenceItems.map((item) => {
    if (!(item instanceof Uint8Array)) return reject("Malformed", "block: evidence must be bytes");
    return decodeEvidence(item);
  });
  const block = makeBlock(header, signature, transactions, evidence);
  if (!equalBytes(block.encoded, bytes)) reject("Malformed", "block: not canonically encoded");
  return block;
}

export function blockToJson(block: Block): BlockJson {
  return {
    ...headerToJson(block),
    transactions: block.transactions.map(transactionToJson),
    evidence: block.evidence.map(evidenceToJson),
  };
}

/** Strict conversion from block JSON; the hash, when present, must match. */
export function blockFromJson(json: unknown, chainId: string): Block {
  const { header, signature } = headerFromJson(json, chainId);
  const o = json as Record<string, unknown>;
  if (!Array.isArray(o.transactions)) return reject("Malformed", "transactions must be an array");
  if (o.transactions.length > MAX_BLOCK_TRANSACTIONS)
    reject("TooManyTransactions", `block has more than ${MAX_BLOCK_TRANSACTIONS} transactions`);
  const evidence = o.evidence ?? [];
  if (!Array.isArray(evidence)) return reject("Malformed", "evidence must be an array");
  if (evidence.length > MAX_BLOCK_EVIDENCE)
    reject("TooMuchEvidence", `block has more than ${MAX_BLOCK_EVIDENCE} pieces of evidence`);
  return makeBlock(
    header,
    signature,
    o.transactions.map(transactionFromJson),
    evidence.map((e) => evidenceFromJson(e, chainId)),
  );
}

const TX_REF = { $ref: "Transaction#" } as const;

/** JSON Schema of a block, for the API's responses and OpenAPI. */
export const BLOCK_JSON_SCHEMA = {
  $id: "Block",
  type: "object",
  required: [...HEADER_JSON_REQUIRED, "transactions", "evidence"],
  properties: {
    ...HEADER_JSON_PROPERTIES,
    transactions: { type: "array", items: TX_REF },
    evidence: {
      type: "array",
      description:
        "slashing evidence: pairs of headers one forger signed for one slot (see docs/consensus.md)",
      items: {
        type: "object",
        required: ["id", "offender", "slot", "headers"],
        properties: {
          id: { type: "string" },
          offender: { type: "string", description: "address of the forger that signed both" },
          slot: { type: "integer" },
          headers: {
            type: "array",
            minItems: 2,
            maxItems: 2,
            items: {
              type: "object",
              required: [...HEADER_JSON_REQUIRED],
              properties: HEADER_JSON_PROPERTIES,
            },
          },
        },
      },
    },
  },
} as const;

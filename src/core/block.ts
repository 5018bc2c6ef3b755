import type { KeyObject } from "node:crypto";
import {
  bigIntToBytes,
  bytesToBigInt,
  concatBytes,
  equalBytes,
  parseHex,
  toHex,
  utf8,
} from "./bytes.js";
import { CborReader, decodeCanonical, encodeCanonical } from "./encoding.js";
import { reject } from "./errors.js";
import { taggedHash } from "./hash.js";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sign, verify } from "./keys.js";
import { merkleRoot } from "./merkle.js";
import {
  CHAIN_ID_RE,
  decodeTransaction,
  MAX_CHAIN_ID_LENGTH,
  type Transaction,
  type TransactionJson,
  transactionFromJson,
  transactionToJson,
} from "./transaction.js";
import { VRF_PROOF_BYTES } from "./vrf.js";

/** Limits of one block, enforced on decode and on production. */
export const MAX_BLOCK_TRANSACTIONS = 5_000;
export const MAX_BLOCK_BYTES = 1_572_864;

const BLOCK_DOMAIN = "lotchain/block/v1";
const BLOCK_SIGNATURE_DOMAIN = utf8.encode("lotchain/block-signature/v1");

/** The consensus-specific part of a header. */
export type Seal =
  /** randomness: the forger's 80-byte VRF proof (the genesis block: a 32-byte seed). */
  | { type: "pos"; slot: number; randomness: Uint8Array }
  | { type: "pow"; target: bigint; nonce: bigint };

export interface BlockHeader {
  chainId: string;
  height: number;
  previousHash: Uint8Array;
  timestamp: number;
  /** Public key of the forger (PoS) or miner (PoW); zero for genesis. */
  forger: Uint8Array;
  txRoot: Uint8Array;
  seal: Seal;
}

export interface Block {
  header: BlockHeader;
  signature: Uint8Array;
  transactions: Transaction[];
  /** Domain-separated hash of the header encoding (the PoW hash under PoW). */
  readonly hash: Uint8Array;
  readonly hashHex: string;
  /** Canonical encoding of the whole block (header, signature, transactions). */
  readonly encoded: Uint8Array;
}

export interface BlockJson {
  height: number;
  hash: string;
  previousHash: string;
  timestamp: number;
  forger: string;
  transactions: TransactionJson[];
  txRoot: string;
  signature: string;
  slot?: number;
  randomness?: string;
  nonce?: string;
  target?: string;
}

export const POW_NONCE_BYTES = 8;
export const HASH_BYTES = 32;

function headerItems(h: BlockHeader) {
  const common = [
    BLOCK_DOMAIN,
    h.chainId,
    h.height,
    h.previousHash,
    h.timestamp,
    h.forger,
    h.txRoot,
  ];
  if (h.seal.type === "pos") return [...common, "pos", h.seal.slot, h.seal.randomness];
  // The nonce is the last 8 bytes of the encoding, so a miner hashes a fixed prefix plus nonce.
  return [
    ...common,
    "pow",
    bigIntToBytes(h.seal.target, HASH_BYTES),
    bigIntToBytes(h.seal.nonce, POW_NONCE_BYTES),
  ];
}

export function encodeHeader(header: BlockHeader): Uint8Array {
  return encodeCanonical(headerItems(header));
}

export function hashHeader(header: BlockHeader): Uint8Array {
  return taggedHash("lotchain/block/v1", encodeHeader(header));
}

/** Message a forger signs: a domain tag and the block hash. */
export function blockSigningBytes(hash: Uint8Array): Uint8Array {
  return concatBytes(BLOCK_SIGNATURE_DOMAIN, hash);
}

export function makeBlock(
  header: BlockHeader,
  signature: Uint8Array,
  transactions: Transaction[],
): Block {
  const hash = hashHeader(header);
  const encoded = encodeCanonical([
    headerItems(header),
    signature,
    transactions.map((tx) => tx.encoded),
  ]);
  return { header, signature, transactions, hash, hashHex: toHex(hash), encoded };
}

/** Builds and signs a block: computes the Merkle root of the transactions. */
export function sealBlock(
  header: Omit<BlockHeader, "txRoot">,
  transactions: Transaction[],
  privateKey: KeyObject,
): Block {
  const full: BlockHeader = { ...header, txRoot: merkleRoot(transactions.map((tx) => tx.id)) };
  const hash = hashHeader(full);
  return makeBlock(full, sign(blockSigningBytes(hash), privateKey), transactions);
}

export function verifyBlockSignature(block: Block): boolean {
  return verify(blockSigningBytes(block.hash), block.signature, block.header.forger);
}

export function computeTxRoot(block: Block): Uint8Array {
  return merkleRoot(block.transactions.map((tx) => tx.id));
}

function headerFromItems(items: unknown): BlockHeader {
  if (!Array.isArray(items) || items.length !== 10)
    return reject("Malformed", "block header: expected an array of 10 items");
  const r = CborReader.of(items, "block header", 10);
  r.literal(BLOCK_DOMAIN);
  const chainId = r.text(MAX_CHAIN_ID_LENGTH);
  const height = r.uint();
  const previousHash = r.bytes(HASH_BYTES);
  const timestamp = r.uint();
  const forger = r.bytes(PUBLIC_KEY_BYTES);
  const txRoot = r.bytes(HASH_BYTES);
  const kind = items[7];
  r.text(3);
  let seal: Seal;
  if (kind === "pos") {
    const slot = r.uint();
    const randomness = r.bytes();
    // 80 bytes (the forger's VRF proof); only the genesis block carries a 32-byte seed.
    if (randomness.length !== (height === 0 ? HASH_BYTES : VRF_PROOF_BYTES))
      reject("Malformed", `block header: randomness must be ${VRF_PROOF_BYTES} bytes`);
    seal = { type: "pos", slot, randomness };
  } else if (kind === "pow") {
    seal = {
      type: "pow",
      target: bytesToBigInt(r.bytes(HASH_BYTES)),
      nonce: bytesToBigInt(r.bytes(POW_NONCE_BYTES)),
    };
  } else {
    return reject("Malformed", "block header: unknown seal type");
  }
  return { chainId, height, previousHash, timestamp, forger, txRoot, seal };
}

/** Decodes a block's canonical encoding; rejects oversized, malformed or non-canonical input. */
export function decodeBlock(bytes: Uint8Array): Block {
  if (bytes.length > MAX_BLOCK_BYTES) reject("TooLarge", `block exceeds ${MAX_BLOCK_BYTES} bytes`);
  const r = CborReader.of(decodeCanonical(bytes, "block"), "block", 3);
  const header = headerFromItems(r.array());
  const signature = r.bytes(SIGNATURE_BYTES);
  const txItems = r.array();
  if (txItems.length > MAX_BLOCK_TRANSACTIONS)
    reject("TooManyTransactions", `block has more than ${MAX_BLOCK_TRANSACTIONS} transactions`);
  // Each transaction travels as a byte string holding its own canonical encoding.
  const transactions = txItems.map((item) => {
    if (!(item instanceof Uint8Array))
      return reject("Malformed", "block: transactions must be bytes");
    return decodeTransaction(item);
  });
  const block = makeBlock(header, signature, transactions);
  if (!equalBytes(block.encoded, bytes)) reject("Malformed", "block: not canonically encoded");
  return block;
}

export function blockToJson(block: Block): BlockJson {
  const h = block.header;
  const json: BlockJson = {
    height: h.height,
    hash: block.hashHex,
    previousHash: toHex(h.previousHash),
    timestamp: h.timestamp,
    forger: toHex(h.forger),
    transactions: block.transactions.map(transactionToJson),
    txRoot: toHex(h.txRoot),
    signature: toHex(block.signature),
  };
  if (h.seal.type === "pos") {
    json.slot = h.seal.slot;
    json.randomness = toHex(h.seal.randomness);
  } else {
    json.nonce = h.seal.nonce.toString();
    json.target = toHex(bigIntToBytes(h.seal.target, HASH_BYTES));
  }
  return json;
}

function hexField(o: Record<string, unknown>, field: string, length: number): Uint8Array {
  const bytes = parseHex(o[field], length);
  if (!bytes) return reject("Malformed", `${field} must be ${length * 2} hex digits`);
  return bytes;
}

function uintField(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    return reject("Malformed", `${field} must be a non-negative integer`);
  return v;
}

/** Strict conversion from block JSON; the hash, when present, must match. */
export function blockFromJson(json: unknown, chainId: string): Block {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return reject("Malformed", "block must be a JSON object");
  const o = json as Record<string, unknown>;
  if (!CHAIN_ID_RE.test(chainId)) reject("Malformed", "bad chain id");
  let seal: Seal;
  if (o.slot !== undefined) {
    const randomness = parseHex(o.randomness);
    if (!randomness || (randomness.length !== VRF_PROOF_BYTES && randomness.length !== HASH_BYTES))
      return reject("Malformed", `randomness must be ${VRF_PROOF_BYTES * 2} hex digits`);
    seal = { type: "pos", slot: uintField(o, "slot"), randomness };
  } else {
    if (typeof o.nonce !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(o.nonce))
      return reject("Malformed", "nonce must be a decimal string");
    const nonce = BigInt(o.nonce);
    if (nonce >= 1n << 64n) return reject("Malformed", "nonce must be below 2^64");
    seal = { type: "pow", nonce, target: bytesToBigInt(hexField(o, "target", HASH_BYTES)) };
  }
  if (!Array.isArray(o.transactions)) return reject("Malformed", "transactions must be an array");
  if (o.transactions.length > MAX_BLOCK_TRANSACTIONS)
    reject("TooManyTransactions", `block has more than ${MAX_BLOCK_TRANSACTIONS} transactions`);
  const block = makeBlock(
    {
      chainId,
      height: uintField(o, "height"),
      previousHash: hexField(o, "previousHash", HASH_BYTES),
      timestamp: uintField(o, "timestamp"),
      forger: hexField(o, "forger", PUBLIC_KEY_BYTES),
      txRoot: hexField(o, "txRoot", HASH_BYTES),
      seal,
    },
    hexField(o, "signature", SIGNATURE_BYTES),
    o.transactions.map(transactionFromJson),
  );
  if (o.hash !== undefined && o.hash !== block.hashHex)
    reject("Malformed", "hash does not match the block header");
  return block;
}

const TX_REF = { $ref: "Transaction#" } as const;

/** JSON Schema of a block, for the API's responses and OpenAPI. */
export const BLOCK_JSON_SCHEMA = {
  $id: "Block",
  type: "object",
  required: [
    "height",
    "hash",
    "previousHash",
    "timestamp",
    "forger",
    "transactions",
    "txRoot",
    "signature",
  ],
  properties: {
    height: { type: "integer", minimum: 0 },
    hash: { type: "string" },
    previousHash: { type: "string" },
    timestamp: { type: "integer" },
    forger: { type: "string", description: "public key of the forger or miner, hex" },
    transactions: { type: "array", items: TX_REF },
    txRoot: { type: "string" },
    signature: { type: "string" },
    slot: { type: "integer", description: "PoS only" },
    randomness: {
      type: "string",
      description: "PoS only: the forger's VRF proof (160 hex digits; 64 for the genesis seed)",
    },
    nonce: { type: "string", description: "PoW only" },
    target: { type: "string", description: "PoW only, 64 hex digits" },
  },
} as const;

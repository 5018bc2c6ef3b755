import type { KeyObject } from "node:crypto";
import { formatAmount, MAX_AMOUNT, parseAmount } from "./amount.js";
import { equalBytes, parseHex, toHex } from "./bytes.js";
import { CborReader, decodeCanonical, encodeCanonical } from "./encoding.js";
import { reject } from "./errors.js";
import { taggedHash } from "./hash.js";
import {
  type Address,
  addressFromPublicKey,
  encodeAddress,
  PUBLIC_KEY_BYTES,
  parseAddress,
  SIGNATURE_BYTES,
  sign,
  verify,
} from "./keys.js";

export const TX_TYPES = ["TRANSFER", "STAKE", "UNSTAKE", "EXCHANGE"] as const;
export type TxType = (typeof TX_TYPES)[number];

/** Largest encoded transaction accepted anywhere (a real one is about 190 bytes). */
export const MAX_TX_BYTES = 512;
export const MAX_CHAIN_ID_LENGTH = 64;
export const CHAIN_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const TX_DOMAIN = "lotchain/tx/v1";

export interface UnsignedTransaction {
  chainId: string;
  type: TxType;
  senderPublicKey: Uint8Array;
  receiver: Address;
  amount: bigint;
  fee: bigint;
  nonce: number;
  timestamp: number;
}

export interface Transaction extends UnsignedTransaction {
  signature: Uint8Array;
  /** Hex of the domain-separated hash of the signed canonical encoding. */
  readonly id: string;
  /** Address of senderPublicKey. */
  readonly sender: Address;
  /** The signed canonical encoding: what travels between nodes and what the id hashes. */
  readonly encoded: Uint8Array;
}

export interface TransactionJson {
  id: string;
  chainId: string;
  type: TxType;
  senderPublicKey: string;
  receiver: string;
  amount: string;
  fee: string;
  nonce: number;
  timestamp: number;
  signature: string;
}

function unsignedItems(tx: UnsignedTransaction) {
  return [
    TX_DOMAIN,
    tx.chainId,
    TX_TYPES.indexOf(tx.type),
    tx.senderPublicKey,
    parseAddress(tx.receiver),
    tx.amount,
    tx.fee,
    tx.nonce,
    tx.timestamp,
  ];
}

/** The exact bytes a sender signs: every field but id and signature, canonically encoded. */
export function transactionSigningBytes(tx: UnsignedTransaction | Transaction): Uint8Array {
  if ("encoded" in tx) {
    // The signed encoding minus its signature, under a 9-item array head.
    const signing = tx.encoded.slice(0, tx.encoded.length - 2 - SIGNATURE_BYTES);
    signing[0] = ARRAY_9;
    return signing;
  }
  return encodeCanonical(unsignedItems(tx));
}

// CBOR heads: an array of 9 items (the signed fields), of 10 (plus the signature), and a
// 64-byte byte string. The signed encoding is the signing bytes with the signature appended.
const ARRAY_9 = 0x89;
const ARRAY_10 = 0x8a;
const SIGNATURE_HEAD = [0x58, 0x40];

function finish(tx: UnsignedTransaction, signature: Uint8Array): Transaction {
  const signing = encodeCanonical(unsignedItems(tx));
  if (signing[0] !== ARRAY_9) throw new Error("unexpected transaction encoding");
  const encoded = new Uint8Array(signing.length + 2 + SIGNATURE_BYTES);
  encoded.set(signing);
  encoded[0] = ARRAY_10;
  encoded.set(SIGNATURE_HEAD, signing.length);
  encoded.set(signature, signing.length + 2);
  return {
    chainId: tx.chainId,
    type: tx.type,
    senderPublicKey: tx.senderPublicKey,
    receiver: tx.receiver,
    amount: tx.amount,
    fee: tx.fee,
    nonce: tx.nonce,
    timestamp: tx.timestamp,
    signature,
    id: transactionIdOf(encoded),
    sender: addressFromPublicKey(tx.senderPublicKey),
    encoded,
  };
}

/**
 * The id of a signed encoding: what `decodeTransaction(bytes).id` is when the bytes decode, at
 * the cost of one hash. Bytes that are not a canonical transaction get an id no transaction has.
 */
export function transactionIdOf(encoded: Uint8Array): string {
  return toHex(taggedHash("lotchain/txid/v1", encoded));
}

export function signTransaction(tx: UnsignedTransaction, privateKey: KeyObject): Transaction {
  checkShape(tx);
  return finish(tx, sign(transactionSigningBytes(tx), privateKey));
}

/** Builds a transaction from already-signed fields (checks shape, not the signature). */
export function makeTransaction(tx: UnsignedTransaction, signature: Uint8Array): Transaction {
  checkShape(tx);
  if (signature.length !== SIGNATURE_BYTES) reject("Malformed", "signature must be 64 bytes");
  return finish(tx, signature);
}

export function verifyTransactionSignature(tx: Transaction): boolean {
  return verify(transactionSigningBytes(tx), tx.signature, tx.senderPublicKey);
}

function checkShape(tx: UnsignedTransaction): void {
  if (typeof tx.chainId !== "string" || !CHAIN_ID_RE.test(tx.chainId))
    reject("Malformed", "chainId must be 1-64 characters of a-z, 0-9, '.', '_' or '-'");
  if (!TX_TYPES.includes(tx.type))
    reject("Malformed", `type must be one of ${TX_TYPES.join(", ")}`);
  if (!(tx.senderPublicKey instanceof Uint8Array) || tx.senderPublicKey.length !== PUBLIC_KEY_BYTES)
    reject("Malformed", "senderPublicKey must be 32 bytes");
  parseAddress(tx.receiver);
  checkAmount(tx.amount, "amount");
  checkAmount(tx.fee, "fee");
  if (!Number.isSafeInteger(tx.nonce) || tx.nonce < 0)
    reject("Malformed", "nonce must be a non-negative integer");
  if (!Number.isSafeInteger(tx.timestamp) || tx.timestamp < 0)
    reject("Malformed", "timestamp must be a non-negative integer of milliseconds");
}

function checkAmount(value: bigint, field: string): void {
  if (typeof value !== "bigint" || value < 0n || value > MAX_AMOUNT)
    reject("MalformedAmount", `${field} must be an integer from 0 to 2^64 - 1`);
}

/** Decodes the signed canonical encoding; rejects non-canonical bytes. */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  if (bytes.length > MAX_TX_BYTES) reject("TooLarge", `transaction exceeds ${MAX_TX_BYTES} bytes`);
  return transactionFromItems(decodeCanonical(bytes, "transaction"), bytes);
}

/** Builds a transaction from a decoded CBOR array; `original`, when given, must be canonical. */
export function transactionFromItems(items: unknown, original?: Uint8Array): Transaction {
  const r = CborReader.of(items, "transaction", 10);
  r.literal(TX_DOMAIN);
  const chainId = r.text(MAX_CHAIN_ID_LENGTH);
  if (!CHAIN_ID_RE.test(chainId)) reject("Malformed", "transaction: malformed chain id");
  const typeIndex = r.uint();
  const type = TX_TYPES[typeIndex];
  if (type === undefined) reject("Malformed", "transaction: unknown type");
  const senderPublicKey = r.bytes(PUBLIC_KEY_BYTES);
  const receiverBytes = r.bytes(20);
  const amount = r.u64();
  const fee = r.u64();
  const nonce = r.uint();
  const timestamp = r.uint();
  const signature = r.bytes(SIGNATURE_BYTES);
  // The reader checked every field's type and range: no second shape check is needed.
  const tx = finish(
    {
      chainId,
      type,
      senderPublicKey,
      receiver: encodeAddress(receiverBytes),
      amount,
      fee,
      nonce,
      timestamp,
    },
    signature,
  );
  if (original && !equalBytes(original, tx.encoded))
    reject("Malformed", "transaction: not canonically encoded");
  return tx;
}

export function transactionToJson(tx: Transaction): TransactionJson {
  return {
    id: tx.id,
    chainId: tx.chainId,
    type: tx.type,
    senderPublicKey: toHex(tx.senderPublicKey),
    receiver: tx.receiver,
    amount: formatAmount(tx.amount),
    fee: formatAmount(tx.fee),
    nonce: tx.nonce,
    timestamp: tx.timestamp,
    signature: toHex(tx.signature),
  };
}

/**
 * Strict conversion from JSON: exactly the fields of SPEC section 4 (`id` optional, but when given
 * it must be the transaction's id). Garbage becomes a typed rejection, never an exception of
 * another kind.
 */
export function transactionFromJson(json: unknown): Transaction {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return reject("Malformed", "transaction must be a JSON object");
  const o = json as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!Object.hasOwn(TRANSACTION_JSON_SCHEMA.properties, key))
      reject("Malformed", `unknown transaction field: ${key.slice(0, 64)}`);
  if (typeof o.type !== "string" || !TX_TYPES.includes(o.type as TxType))
    reject("Malformed", `type must be one of ${TX_TYPES.join(", ")}`);
  if (typeof o.chainId !== "string") reject("Malformed", "chainId must be a string");
  const senderPublicKey = parseHex(o.senderPublicKey, PUBLIC_KEY_BYTES);
  if (!senderPublicKey) reject("Malformed", "senderPublicKey must be 64 hex digits");
  if (typeof o.receiver !== "string") reject("MalformedAddress", "receiver must be an address");
  if (typeof o.amount !== "string") reject("MalformedAmount", "amount must be a decimal string");
  if (typeof o.fee !== "string") reject("MalformedAmount", "fee must be a decimal string");
  if (typeof o.nonce !== "number") reject("Malformed", "nonce must be an integer");
  if (typeof o.timestamp !== "number") reject("Malformed", "timestamp must be an integer");
  const signature = parseHex(o.signature, SIGNATURE_BYTES);
  if (!signature) reject("Malformed", "signature must be 128 hex digits");
  const tx = makeTransaction(
    {
      chainId: o.chainId as string,
      type: o.type as TxType,
      senderPublicKey: senderPublicKey!,
      receiver: o.receiver as string,
      amount: parseAmount(o.amount, "amount"),
      fee: parseAmount(o.fee, "fee"),
      nonce: o.nonce as number,
      timestamp: o.timestamp as number,
    },
    signature!,
  );
  if (o.id !== undefined && o.id !== tx.id)
    reject("IdMismatch", `id does not match the transaction (expected ${tx.id})`);
  return tx;
}

/** JSON Schema of a transaction, shared by the API (validation and OpenAPI) and the docs. */
export const TRANSACTION_JSON_SCHEMA = {
  $id: "Transaction",
  type: "object",
  additionalProperties: false,
  required: [
    "chainId",
    "type",
    "senderPublicKey",
    "receiver",
    "amount",
    "fee",
    "nonce",
    "timestamp",
    "signature",
  ],
  properties: {
    id: {
      type: "string",
      pattern: "^[0-9a-f]{64}$",
      description: "hash of the signed transaction",
    },
    chainId: { type: "string", pattern: CHAIN_ID_RE.source },
    type: { type: "string", enum: [...TX_TYPES] },
    senderPublicKey: { type: "string", pattern: "^[0-9a-fA-F]{64}$" },
    receiver: {
      type: "string",
      pattern: "^lc1[02-9ac-hj-np-z]{38}$",
      description: "bech32m address",
    },
    amount: {
      type: "string",
      pattern: "^(0|[1-9][0-9]{0,19})$",
      description: "base units, < 2^64",
    },
    fee: { type: "string", pattern: "^(0|[1-9][0-9]{0,19})$", description: "base units, < 2^64" },
    nonce: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    timestamp: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    signature: { type: "string", pattern: "^[0-9a-fA-F]{128}$" },
  },
} as const;

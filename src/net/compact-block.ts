import {
  type Block,
  type BlockHeader,
  HASH_BYTES,
  MAX_BLOCK_EVIDENCE,
  MAX_BLOCK_TRANSACTIONS,
  makeBlock,
} from "../core/block.js";
import { parseHex, toHex } from "../core/bytes.js";
import { CborReader, decodeCanonical, encodeCanonical } from "../core/encoding.js";
import { reject } from "../core/errors.js";
import { decodeEvidence, type Evidence } from "../core/evidence.js";
import { headerFromItems, headerItems, type SignedHeader, signedHeader } from "../core/header.js";
import { SIGNATURE_BYTES } from "../core/keys.js";
import { decodeTransaction, type Transaction } from "../core/transaction.js";

/**
 * Compact blocks, after Bitcoin's BIP 152: a block travels on gossip as its header, signature and
 * evidence with the ids of its transactions instead of the transactions. A peer has most of them
 * pending already (they were gossiped before the block), fills the block from its mempool, and
 * asks the peer that relayed the block for the few it lacks (block-txs, one round trip). A block
 * of 2,000 transfers is about 64 KB of ids instead of 400 KB, and the transactions a node had are
 * not decoded again.
 *
 * Ids are the transactions' full 32-byte ids, not BIP 152's salted 6-byte short ids: ids are
 * hashes an attacker cannot make collide, so no salt and no collision handling are needed, at
 * five times the size of short ids and a sixth of the transactions'.
 *
 * Wire forms (canonical CBOR, read strictly):
 * - compact block: ["lotchain/cblock/1", header items, signature, [tx id, …], [evidence, …]]
 * - block-txs request: [block hash, [index, …]] (indexes in the block, ascending)
 * - block-txs response: [tx encoding, …] (those asked for, in order; none when the block is not
 *   known there)
 */
const COMPACT_TAG = "lotchain/cblock/1";

export interface CompactBlock extends SignedHeader {
  txIds: string[];
  evidence: Evidence[];
}

/** The largest compact block: a header, the ids of a full block, the most evidence. */
export const MAX_COMPACT_BLOCK_BYTES =
  4_096 + MAX_BLOCK_TRANSACTIONS * (HASH_BYTES + 2) + 64 * 1024;

export function encodeCompactBlock(block: Block): Uint8Array {
  return encodeCanonical([
    COMPACT_TAG,
    headerItems(block.header),
    block.signature,
    block.transactions.map((tx) => parseHex(tx.id, HASH_BYTES)!),
    block.evidence.map((e) => e.encoded),
  ]);
}

export function decodeCompactBlock(bytes: Uint8Array): CompactBlock {
  if (bytes.length > MAX_COMPACT_BLOCK_BYTES)
    reject("TooLarge", `compact block exceeds ${MAX_COMPACT_BLOCK_BYTES} bytes`);
  const r = CborReader.of(decodeCanonical(bytes, "compact block"), "compact block", 5);
  r.literal(COMPACT_TAG);
  const header: BlockHeader = headerFromItems(r.array());
  const signature = r.bytes(SIGNATURE_BYTES);
  const idItems = r.array();
  if (idItems.length > MAX_BLOCK_TRANSACTIONS)
    reject("TooManyTransactions", `block has more than ${MAX_BLOCK_TRANSACTIONS} transactions`);
  const txIds = idItems.map((item) => {
    if (!(item instanceof Uint8Array) || item.length !== HASH_BYTES)
      return reject("Malformed", "compact block: transaction ids are 32 bytes");
    return toHex(item);
  });
  const evidenceItems = r.array();
  if (evidenceItems.length > MAX_BLOCK_EVIDENCE)
    reject("TooMuchEvidence", `block has more than ${MAX_BLOCK_EVIDENCE} pieces of evidence`);
  const evidence = evidenceItems.map((item) => {
    if (!(item instanceof Uint8Array))
      return reject("Malformed", "compact block: evidence must be bytes");
    return decodeEvidence(item);
  });
  return { ...signedHeader(header, signature), txIds, evidence };
}

/** The transactions of a compact block found by `lookup`, and the indexes of those missing. */
export function fillCompactBlock(
  compact: CompactBlock,
  lookup: (id: string) => Transaction | undefined,
): { txs: (Transaction | undefined)[]; missing: number[] } {
  const missing: number[] = [];
  const txs = compact.txIds.map((id, i) => {
    const tx = lookup(id);
    if (!tx) missing.push(i);
    return tx;
  });
  return { txs, missing };
}

/** The whole block, once every transaction is there (checked as any block on import). */
export function completeBlock(compact: CompactBlock, txs: readonly Transaction[]): Block {
  return makeBlock(compact.header, compact.signature, [...txs], compact.evidence);
}

export function encodeBlockTxsRequest(hash: string, indexes: readonly number[]): Uint8Array {
  return encodeCanonical([parseHex(hash, HASH_BYTES)!, [...indexes]]);
}

export function decodeBlockTxsRequest(bytes: Uint8Array): { hash: string; indexes: number[] } {
  const r = CborReader.of(decodeCanonical(bytes, "block-txs request"), "block-txs request", 2);
  const hash = toHex(r.bytes(HASH_BYTES));
  const items = r.array();
  if (items.length < 1 || items.length > MAX_BLOCK_TRANSACTIONS)
    reject("Malformed", `block-txs request: 1 to ${MAX_BLOCK_TRANSACTIONS} indexes`);
  let previous = -1;
  const indexes = items.map((item) => {
    if (typeof item !== "number" || !Number.isSafeInteger(item) || item <= previous)
      return reject("Malformed", "block-txs request: indexes must ascend");
    previous = item;
    return item;
  });
  return { hash, indexes };
}

/** The transactions asked for, in order; none when the block is not known (or an index is past its end). */
export function encodeBlockTxsResponse(
  block: Block | undefined,
  indexes: readonly number[],
): Uint8Array {
  if (!block || indexes.some((i) => i >= block.transactions.length)) return encodeCanonical([]);
  return encodeCanonical(indexes.map((i) => block.transactions[i]!.encoded));
}

/**
 * The transactions of a block-txs response: each decoded, and each the one asked for (its id
 * is the id the compact block named); none when the peer does not have the block. Throws
 * ValidationError when the response is anything else.
 */
export function decodeBlockTxsResponse(bytes: Uint8Array, ids: readonly string[]): Transaction[] {
  const items = decodeCanonical(bytes, "block-txs response");
  if (!Array.isArray(items)) return reject("Malformed", "block-txs response: expected an array");
  // Empty: the peer does not have the block (the caller fetches the whole block instead).
  if (items.length === 0) return [];
  if (items.length !== ids.length)
    reject("Malformed", `block-txs response: ${items.length} transactions, ${ids.length} asked`);
  return items.map((item, i) => {
    if (!(item instanceof Uint8Array))
      return reject("Malformed", "block-txs response: transactions are bytes");
    const tx = decodeTransaction(item);
    if (tx.id !== ids[i]) reject("Malformed", `block-txs response: ${tx.id} was not asked for`);
    return tx;
  });
}

import { type Block, decodeBlock, HASH_BYTES } from "../core/block.js";
import { parseHex, toHex } from "../core/bytes.js";
import { CborReader, decodeCanonical, encodeCanonical } from "../core/encoding.js";
import { reject } from "../core/errors.js";
import { MAX_CHAIN_ID_LENGTH, type Transaction } from "../core/transaction.js";
import { MAX_TX_BATCH } from "./protocols.js";

/**
 * Wire forms of the request/response protocols, all canonical CBOR arrays read with strict
 * schemas (a malformed message is a Malformed ValidationError, never a half-read object):
 * - status:      ["lotchain/status/1", chainId, genesisHash, height, headHash, score, finalizedHeight]
 *                (hashes as 32 bytes; the score, a bigint of any size, as a decimal string)
 * - range:       [from, count]
 * - by hash:     [hash, …] (32 bytes each)
 * - block list:  [block.encoded, …] (each a byte string holding the block's canonical encoding)
 * and of the transaction gossip: [tx.encoded, …] (a batch).
 */

const STATUS_TAG = "lotchain/status/1";
/** 10^100 is far above any cumulative score (2^256 per block at most). */
const SCORE_RE = /^(0|[1-9][0-9]{0,99})$/;

/** What a node says of its chain. */
export interface ChainStatus {
  chainId: string;
  genesisHash: string;
  height: number;
  headHash: string;
  score: bigint;
  finalizedHeight: number;
}

function hashBytes(hex: string): Uint8Array {
  const bytes = parseHex(hex, HASH_BYTES);
  if (!bytes) throw new Error(`not a block hash: ${hex}`);
  return bytes;
}

export function encodeStatus(s: ChainStatus): Uint8Array {
  return encodeCanonical([
    STATUS_TAG,
    s.chainId,
    hashBytes(s.genesisHash),
    s.height,
    hashBytes(s.headHash),
    s.score.toString(),
    s.finalizedHeight,
  ]);
}

export function decodeStatus(bytes: Uint8Array): ChainStatus {
  const r = CborReader.of(decodeCanonical(bytes, "status"), "status", 7);
  r.literal(STATUS_TAG);
  const chainId = r.text(MAX_CHAIN_ID_LENGTH);
  const genesisHash = toHex(r.bytes(HASH_BYTES));
  const height = r.uint();
  const headHash = toHex(r.bytes(HASH_BYTES));
  const score = r.text(100);
  const finalizedHeight = r.uint();
  if (!SCORE_RE.test(score)) reject("Malformed", "status: score must be a decimal integer");
  if (finalizedHeight > height) reject("Malformed", "status: finalized height above the head");
  return { chainId, genesisHash, height, headHash, score: BigInt(score), finalizedHeight };
}

export interface RangeRequest {
  from: number;
  count: number;
}

export function encodeRangeRequest(r: RangeRequest): Uint8Array {
  return encodeCanonical([r.from, r.count]);
}

export function decodeRangeRequest(bytes: Uint8Array, maxCount: number): RangeRequest {
  const r = CborReader.of(decodeCanonical(bytes, "range request"), "range request", 2);
  const from = r.uint();
  const count = r.uint();
  if (count < 1 || count > maxCount)
    reject("Malformed", `range request: count must be 1 to ${maxCount}`);
  return { from, count };
}

export function encodeHashRequest(hashes: string[]): Uint8Array {
  return encodeCanonical(hashes.map(hashBytes));
}

export function decodeHashRequest(bytes: Uint8Array, maxHashes: number): string[] {
  const items = decodeCanonical(bytes, "hash request");
  if (!Array.isArray(items) || items.length < 1 || items.length > maxHashes)
    return reject("Malformed", `hash request: expected 1 to ${maxHashes} hashes`);
  return items.map((item) => {
    if (!(item instanceof Uint8Array) || item.length !== HASH_BYTES)
      return reject("Malformed", "hash request: hashes must be 32 bytes");
    return toHex(item);
  });
}

/**
 * A response of whole blocks: as many of `blocks`, in order, as fit in `maxBytes`, and always
 * the first (a block is at most MAX_BLOCK_BYTES, well under any response limit).
 */
export function encodeBlockList(blocks: readonly Block[], maxBytes: number): Uint8Array {
  const taken: Uint8Array[] = [];
  // CBOR headers: up to 9 bytes for the array, 5 per byte string of a block's size.
  let size = 9;
  for (const block of blocks) {
    size += block.encoded.length + 5;
    if (size > maxBytes && taken.length > 0) break;
    taken.push(block.encoded);
  }
  return encodeCanonical(taken);
}

/** Decodes a block list; each block with decodeBlock (size limit, schema, canonical form). */
export function decodeBlockList(bytes: Uint8Array, maxBlocks: number): Block[] {
  const items = decodeCanonical(bytes, "block list");
  if (!Array.isArray(items)) return reject("Malformed", "block list: expected an array");
  if (items.length > maxBlocks)
    reject("Malformed", `block list: ${items.length} blocks, at most ${maxBlocks} asked`);
  return items.map((item) => {
    if (!(item instanceof Uint8Array)) return reject("Malformed", "block list: blocks are bytes");
    return decodeBlock(item);
  });
}

/**
 * A gossip message of transactions: a CBOR array of 1 to MAX_TX_BATCH signed transaction
 * encodings. One message carries what a node admitted in a few milliseconds, so that the
 * per-message costs of the transport (encryption, framing, gossipsub's bookkeeping) are paid
 * once per batch instead of once per transaction.
 */
export function encodeTxBatch(txs: readonly Transaction[]): Uint8Array {
  return encodeCanonical(txs.map((tx) => tx.encoded));
}

/** The transaction encodings of a batch (each still to be decoded and validated). */
export function decodeTxBatch(bytes: Uint8Array): Uint8Array[] {
  const items = decodeCanonical(bytes, "transaction batch");
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_TX_BATCH)
    return reject("Malformed", `transaction batch: expected 1 to ${MAX_TX_BATCH} transactions`);
  for (const item of items)
    if (!(item instanceof Uint8Array)) reject("Malformed", "transaction batch: items are bytes");
  return items as Uint8Array[];
}

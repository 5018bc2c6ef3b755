import { MAX_BLOCK_BYTES, MAX_BLOCK_TRANSACTIONS } from "../core/block.js";
import type { Evidence } from "../core/evidence.js";
import type { Transaction } from "../core/transaction.js";

/** Room left for the header, signature and array heads of a block (a header is ~300 bytes). */
const BLOCK_OVERHEAD_BYTES = 1024;
/** The CBOR head of a byte string inside a block: at most 3 bytes below 64 KiB. */
const TX_HEAD_BYTES = 3;

/** Bytes the evidence takes in a block. */
export function evidenceBytes(evidence: readonly Evidence[]): number {
  let bytes = 0;
  for (const e of evidence) bytes += e.encoded.length + TX_HEAD_BYTES;
  return bytes;
}

/**
 * The longest prefix of `candidates` a block can hold (count and byte limits). A prefix, never a
 * selection: the candidates are in nonce order per sender, and skipping one would orphan the
 * sender's later transactions.
 */
export function transactionsThatFit(
  candidates: readonly Transaction[],
  reservedBytes = 0,
): Transaction[] {
  let bytes = BLOCK_OVERHEAD_BYTES + reservedBytes;
  let count = 0;
  for (const tx of candidates) {
    bytes += tx.encoded.length + TX_HEAD_BYTES;
    if (count === MAX_BLOCK_TRANSACTIONS || bytes > MAX_BLOCK_BYTES) break;
    count++;
  }
  return candidates.slice(0, count);
}

import type { Engine } from "../consensus/engine.js";
import {
  type Block,
  computeEvidenceRoot,
  computeTxRoot,
  MAX_BLOCK_BYTES,
  MAX_BLOCK_EVIDENCE,
  MAX_BLOCK_TRANSACTIONS,
  verifyBlockSignature,
} from "../core/block.js";
import { equalBytes } from "../core/bytes.js";
import { reject } from "../core/errors.js";
import { checkEvidence } from "../core/evidence.js";
import { BLOCK_WINDOW, checkTimestamp } from "../core/tx-time.js";

/**
 * The checks a block passes before it is stored anywhere (tree or orphan pool): everything that
 * needs neither its parent nor a state. Cheapest first, so junk costs little.
 */
export function checkBlockStateless(block: Block, chainId: string, engine: Engine): void {
  const h = block.header;
  if (h.chainId !== chainId)
    reject("WrongChain", `block is for chain ${h.chainId}, this is ${chainId}`);
  if (block.encoded.length > MAX_BLOCK_BYTES)
    reject("TooLarge", `block exceeds ${MAX_BLOCK_BYTES} bytes`);
  if (block.transactions.length > MAX_BLOCK_TRANSACTIONS)
    reject("TooManyTransactions", `block has more than ${MAX_BLOCK_TRANSACTIONS} transactions`);
  if (h.height === 0) reject("BadHeight", "only the genesis block has height 0");
  if (block.evidence.length > MAX_BLOCK_EVIDENCE)
    reject("TooMuchEvidence", `block has more than ${MAX_BLOCK_EVIDENCE} pieces of evidence`);
  if (!equalBytes(computeTxRoot(block.transactions), h.txRoot))
    reject("BadTxRoot", "txRoot is not the Merkle root of the transactions");
  if (!equalBytes(computeEvidenceRoot(block.evidence), h.evidenceRoot))
    reject("BadEvidenceRoot", "evidenceRoot is not the Merkle root of the evidence");
  if (block.evidence.length > 0 && engine.type !== "pos")
    reject("InvalidEvidence", "only Proof of Stake blocks carry slashing evidence");
  // Every transaction signed within a window around the block's own time (docs/consensus.md).
  for (const tx of block.transactions) checkTimestamp(tx.timestamp, h.timestamp, BLOCK_WINDOW);
  engine.verifySealStateless(block);
  if (!verifyBlockSignature(block))
    reject("BadBlockSignature", "block signature is not the forger's");
  // Two signatures each: after the block's own, so that only a forger pays for junk evidence.
  for (const evidence of block.evidence) checkEvidence(evidence, chainId);
}

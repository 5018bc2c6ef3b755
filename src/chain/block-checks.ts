import type { Engine } from "../consensus/engine.js";
import {
  type Block,
  computeTxRoot,
  MAX_BLOCK_BYTES,
  MAX_BLOCK_TRANSACTIONS,
  verifyBlockSignature,
} from "../core/block.js";
import { equalBytes } from "../core/bytes.js";
import { reject } from "../core/errors.js";

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
  if (!equalBytes(computeTxRoot(block), h.txRoot))
    reject("BadTxRoot", "txRoot is not the Merkle root of the transactions");
  engine.verifySealStateless(block);
  if (!verifyBlockSignature(block))
    reject("BadBlockSignature", "block signature is not the forger's");
}

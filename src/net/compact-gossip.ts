import type { Block } from "../core/block.js";
import { isValidationError } from "../core/errors.js";
import { verifyHeaderSignature } from "../core/header.js";
import type { Transaction } from "../core/transaction.js";
import {
  completeBlock,
  decodeBlockTxsRequest,
  decodeCompactBlock,
  encodeBlockTxsResponse,
  fillCompactBlock,
} from "./compact-block.js";
import type { GossipVerdict } from "./gossip.js";
import {
  type BlockGossipDeps,
  importGossipBlock,
  MAX_IMPORT_BACKLOG,
} from "./gossip-validation.js";
import { ResponseError, RespStatus } from "./req-resp.js";

/** How a compact block was filled: from the mempool, by a block-txs round trip, or whole. */
export interface CompactFill {
  /** transactions found pending here */
  known: number;
  /** transactions fetched from the relaying peer */
  fetched: number;
  /** the whole block was fetched instead (the peer did not serve the transactions) */
  whole: boolean;
}

export interface CompactGossipDeps extends BlockGossipDeps {
  chainId: string;
  /** a transaction pending here, by id */
  pending(id: string): Transaction | undefined;
  /** whether this block is stored here already */
  hasBlock(hash: string): boolean;
  /**
   * The transactions of a block at `indexes`, from `peer`, checked to be those of `ids`; empty
   * when the peer does not have the block. Throws when the peer fails or answers wrongly.
   */
  fetchBlockTxs(
    peer: string,
    hash: string,
    indexes: number[],
    ids: string[],
  ): Promise<Transaction[]>;
  /** The whole block from `peer` (blocks-by-hash); undefined when it does not serve it. */
  fetchBlock(peer: string, hash: string): Promise<Block | undefined>;
  onFill?(fill: CompactFill): void;
}

/**
 * A gossiped compact block: decoded strictly; its header's signature checked before anything is
 * asked of anyone (so a junk header costs its relayer, not a round trip); filled from the
 * mempool; what is missing asked of the relaying peer (which validated the block before relaying
 * it, so it has it), or else the whole block; then imported and judged like a whole block.
 * Dropped before decoding while the import queue is long.
 */
export async function validateCompactBlock(
  data: Uint8Array,
  from: string,
  deps: CompactGossipDeps,
): Promise<GossipVerdict> {
  const { log } = deps;
  if (deps.chain.importBacklog >= MAX_IMPORT_BACKLOG) return "ignore";
  let compact: ReturnType<typeof decodeCompactBlock>;
  try {
    compact = decodeCompactBlock(data);
  } catch (e) {
    if (!isValidationError(e)) throw e;
    deps.onRejected(e.code);
    log.debug({ from, code: e.code, reason: e.message }, "undecodable compact block");
    return "reject";
  }
  if (deps.hasBlock(compact.hashHex)) return "ignore";
  if (compact.header.chainId !== deps.chainId) {
    deps.onRejected("WrongChain");
    return "reject";
  }
  if (!verifyHeaderSignature(compact)) {
    deps.onRejected("BadBlockSignature");
    log.info({ from, block: compact.hashHex }, "compact block with a forged signature");
    return "reject";
  }
  const { txs, missing } = fillCompactBlock(compact, deps.pending);
  let block: Block | undefined;
  const fill: CompactFill = { known: txs.length - missing.length, fetched: 0, whole: false };
  if (missing.length === 0) block = completeBlock(compact, txs as Transaction[]);
  else {
    try {
      const ids = missing.map((i) => compact.txIds[i]!);
      const fetched = await deps.fetchBlockTxs(from, compact.hashHex, missing, ids);
      if (fetched.length === missing.length) {
        missing.forEach((index, k) => {
          txs[index] = fetched[k];
        });
        fill.fetched = fetched.length;
        block = completeBlock(compact, txs as Transaction[]);
      }
    } catch (err) {
      log.debug({ err, from, block: compact.hashHex }, "block-txs request failed");
    }
    if (!block) {
      const whole = await deps.fetchBlock(from, compact.hashHex).catch(() => undefined);
      if (whole?.hashHex !== compact.hashHex) return "ignore";
      block = whole;
      fill.whole = true;
    }
  }
  deps.onFill?.(fill);
  return importGossipBlock(block, from, deps);
}

/** What the block-txs server reads: stored (or recently imported) blocks by hash. */
export interface BlockByHash {
  getBlockByHash(hash: string): Promise<Block | undefined>;
}

/** block-txs: the transactions of a block at the indexes asked, or none if the block is unknown. */
export async function onBlockTxs(request: Uint8Array, chain: BlockByHash): Promise<Uint8Array> {
  let asked: { hash: string; indexes: number[] };
  try {
    asked = decodeBlockTxsRequest(request);
  } catch (e) {
    if (isValidationError(e)) throw new ResponseError(RespStatus.INVALID_REQUEST, e.message);
    throw e;
  }
  return encodeBlockTxsResponse(await chain.getBlockByHash(asked.hash), asked.indexes);
}

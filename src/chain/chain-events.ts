import type { Block, BlockHeader } from "../core/block.js";
import type { Evidence } from "../core/evidence.js";
import type { Slashing } from "../core/state.js";
import type { Transaction } from "../core/transaction.js";

/**
 * "head": the block is the new head; "side": stored on a branch that is not (yet) the best;
 * "known": already stored; "orphan": its parent is unknown, so it waits in the orphan pool and
 * `missingParent` names the block to fetch.
 */
export type ImportStatus = "head" | "side" | "known" | "orphan";

export interface ImportResult {
  status: ImportStatus;
  /** Hash (hex) of the missing ancestor, when the status is "orphan". */
  missingParent?: string;
}

export interface ChainHead {
  hash: Uint8Array;
  hashHex: string;
  height: number;
  header: BlockHeader;
  /** Cumulative fork-choice score (PoS: height; PoW: work). */
  score: bigint;
}

/** A block was stored: it became the head (possibly through a reorg) or joined a side branch. */
export interface BlockEvent {
  block: Block;
  status: "head" | "side";
}

/** The head moved. `applied` in height order; `reverted` from the old head downward. */
export interface HeadEvent {
  head: Block;
  applied: Block[];
  reverted: Block[];
}

/** The head moved to another branch. */
export interface ReorgEvent {
  /** Number of blocks reverted. */
  depth: number;
  commonAncestor: { hash: string; height: number };
  /** The head before (the first reverted block) and after (the last applied block). */
  oldHead: { hash: string; height: number };
  newHead: { hash: string; height: number };
  /** Transactions of the reverted blocks that the new branch does not include (in block order). */
  revertedTransactions: Transaction[];
  /** Transactions of the applied blocks, in block order. */
  addedTransactions: Transaction[];
}

/** A block of the new main chain applied slashing evidence. */
export interface SlashingEvent {
  block: Block;
  slashing: Slashing;
}

/**
 * Event map of Chain (a typed EventEmitter). Order per change: block, reorg (if any), slashing
 * (for each applied piece of evidence), head. `evidence`: the chain stored a second block of one
 * forger for one slot, and here is the proof.
 */
export interface ChainEventMap {
  block: [BlockEvent];
  head: [HeadEvent];
  reorg: [ReorgEvent];
  slashing: [SlashingEvent];
  evidence: [Evidence];
}

export interface ChainLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const SILENT_LOGGER: ChainLogger = {
  info() {},
  warn() {},
  debug() {},
};

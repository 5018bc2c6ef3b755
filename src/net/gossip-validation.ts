import type { Logger } from "pino";
import type { ChainHead, ImportResult } from "../chain/chain.js";
import { type Block, decodeBlock } from "../core/block.js";
import { isValidationError, type RejectCode, type ValidationError } from "../core/errors.js";
import { decodeEvidence, type Evidence } from "../core/evidence.js";
import { decodeTransaction, type Transaction, transactionIdOf } from "../core/transaction.js";
import type { GossipVerdict } from "./gossip.js";
import { blockVerdict, evidenceVerdict, txVerdict } from "./protocols.js";
import { decodeTxBatch } from "./wire.js";

/**
 * Gossiped transactions handed to admission at once. Their signatures are verified together in
 * the worker pool; a message is judged slice by slice, so that a batch of forged signatures costs
 * one slice of verifications, not the whole batch, before its relayer is condemned.
 */
const TX_ADMIT_SLICE = 64;

export interface TxGossipDeps {
  /**
   * Admits transactions (mempool, events), verifying their signatures; resolves with the error
   * each one got (undefined: admitted).
   */
  admitAll(txs: readonly Transaction[]): Promise<(ValidationError | undefined)[]>;
  /** Whether a transaction of this id is pending here already: its bytes are not decoded. */
  known(id: string): boolean;
  /** A message or an item in it that does not decode (metrics). */
  onUndecodable(code: RejectCode): void;
  /** False once the network stops: the rest of a batch is left. */
  running(): boolean;
  log: Logger;
}

export interface TxBatchOutcome {
  /**
   * accept: every transaction was admitted here or was pending here already, relay the message
   * as it came; reject: one of
   * them is one no honest node sends (malformed, forged signature, another chain); ignore: the
   * rest (duplicates, state-dependent failures).
   */
  verdict: GossipVerdict;
  /**
   * Admitted from a batch not relayed as it came: to be re-packed into our own batches. What
   * this node did not verify itself (a transaction refused for its nonce or funds before its
   * signature was checked) is never relayed, so an honest relayer is never blamed for it.
   */
  repack: Transaction[];
  /** Items of the batch pending here already (not decoded again). */
  known: number;
}

/**
 * A batch of gossiped transactions: items already pending here are skipped undecoded (their
 * hash is their id), the rest go to admission in order, a slice at a time. The first one any
 * node would refuse without looking at state condemns the message and its relayer (the slices
 * after it are not looked at).
 */
export async function validateTxBatch(
  data: Uint8Array,
  deps: TxGossipDeps,
): Promise<TxBatchOutcome> {
  let items: Uint8Array[];
  try {
    items = decodeTxBatch(data);
  } catch (e) {
    if (!isValidationError(e)) throw e;
    deps.onUndecodable(e.code);
    return { verdict: "reject", repack: [], known: 0 };
  }
  const admitted: Transaction[] = [];
  let known = 0;
  let condemned = false;
  for (let from = 0; from < items.length && !condemned; from += TX_ADMIT_SLICE) {
    if (!deps.running()) return { verdict: "ignore", repack: [], known };
    const slice: Transaction[] = [];
    for (const item of items.slice(from, from + TX_ADMIT_SLICE)) {
      if (deps.known(transactionIdOf(item))) {
        known++;
        continue;
      }
      try {
        slice.push(decodeTransaction(item));
      } catch (e) {
        if (!isValidationError(e)) throw e;
        deps.onUndecodable(e.code);
        condemned = true;
        break;
      }
    }
    const errors = await deps.admitAll(slice);
    for (let i = 0; i < slice.length; i++) {
      const e = errors[i];
      const tx = slice[i]!;
      if (!e) admitted.push(tx);
      // Pending here already (another message brought it meanwhile): as good as known.
      else if (e.code === "Duplicate") known++;
      else if (txVerdict(e.code) === "reject") {
        deps.log.debug({ tx: tx.id, code: e.code, reason: e.message }, "gossiped tx rejected");
        condemned = true;
      }
    }
  }
  if (condemned) return { verdict: "reject", repack: admitted, known };
  // Items pending here were verified here when they came: relaying them blames nobody, and a
  // batch relayed as it came saves every peer the re-packed copy of the rest.
  if (admitted.length + known === items.length) return { verdict: "accept", repack: [], known };
  return { verdict: "ignore", repack: admitted, known };
}

/** How long a gossiped orphan waits for its ancestor walk before it is ignored, not relayed. */
export const ORPHAN_RELAY_WAIT_MS = 10_000;

const delay = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(resolve, ms, value).unref());

/** Imports queued or running past which gossiped blocks are dropped unread (back-pressure). */
export const MAX_IMPORT_BACKLOG = 32;

export interface BlockGossipDeps {
  chain: {
    importBlock(block: Block): Promise<ImportResult>;
    readonly importBacklog: number;
    readonly head: ChainHead;
  };
  /** A block from `from` became our head: the peer's chain is at least that good. */
  onHead(from: string): void;
  onImported(block: Block): void;
  onRejected(code: RejectCode): void;
  /**
   * The block's ancestor `missing` is not here: ask the relayer. A promise when a walk runs for
   * it, resolving whether the block got stored by it.
   */
  onOrphan(from: string, block: Block, missing: string): Promise<boolean> | undefined;
  /** The block's slot has not begun on our clock: try it again when it has. */
  onFuture(block: Block, from: string): void;
  log: Logger;
}

/**
 * A gossiped block: imported, and relayed when it was stored (head or side: the chain checks a
 * side block's header rules and lottery win before storing it). While the import queue is long
 * the block is dropped before decoding: gossip waits on imports, not the other way round.
 * Transactions pending here are taken from `known` instead of decoded again.
 */
export async function validateGossipBlock(
  data: Uint8Array,
  from: string,
  deps: BlockGossipDeps & { known?: (id: string) => Transaction | undefined },
): Promise<GossipVerdict> {
  const { chain, log } = deps;
  if (chain.importBacklog >= MAX_IMPORT_BACKLOG) return "ignore";
  let block: Block;
  try {
    block = decodeBlock(data, deps.known);
  } catch (e) {
    if (!isValidationError(e)) throw e;
    deps.onRejected(e.code);
    log.debug({ from, code: e.code, reason: e.message }, "undecodable gossiped block");
    return "reject";
  }
  return importGossipBlock(block, from, deps);
}

/** Imports a block that came by gossip (whole, or filled from a compact block): its verdict. */
export async function importGossipBlock(
  block: Block,
  from: string,
  deps: BlockGossipDeps,
): Promise<GossipVerdict> {
  const { chain, log } = deps;
  try {
    const result = await chain.importBlock(block);
    switch (result.status) {
      case "head":
        deps.onHead(from);
        deps.onImported(block);
        return "accept";
      case "side":
        deps.onImported(block);
        return "accept";
      case "known":
        return "ignore";
      case "orphan": {
        // Relayed once the ancestors fetched from the relayer connect it (within a bound): a
        // branch that reaches a node by one link (a partition heals) then travels on hop by
        // hop, instead of every node waiting for a later block to learn of it.
        const walk = deps.onOrphan(from, block, result.missingParent!);
        if (walk === undefined) return "ignore";
        const connected = await Promise.race([walk, delay(ORPHAN_RELAY_WAIT_MS, false)]);
        return connected ? "accept" : "ignore";
      }
    }
  } catch (e) {
    if (!isValidationError(e)) throw e;
    deps.onRejected(e.code);
    if (e.code === "FutureBlock") deps.onFuture(block, from);
    const verdict = blockVerdict(e.code);
    log[verdict === "reject" ? "info" : "debug"](
      { from, block: block.hashHex, height: block.header.height, code: e.code, reason: e.message },
      verdict === "reject" ? "gossiped block rejected" : "gossiped block ignored",
    );
    return verdict;
  }
}

/**
 * Gossiped slashing evidence: decoded strictly, then offered to the node's evidence pool, which
 * checks the signatures and that it applies to the head. Relayed when pooled (new to us);
 * ignored when we have it or it no longer applies; rejected (the relayer pays) when no node
 * would take it (see protocols.ts).
 */
export function validateGossipEvidence(
  data: Uint8Array,
  deps: { admit(evidence: Evidence): boolean; log: Logger },
): GossipVerdict {
  try {
    return deps.admit(decodeEvidence(data)) ? "accept" : "ignore";
  } catch (e) {
    if (!isValidationError(e)) throw e;
    const verdict = evidenceVerdict(e.code);
    deps.log.debug({ code: e.code, reason: e.message }, `gossiped evidence: ${verdict}`);
    return verdict;
  }
}

/** How far ahead of our clock a block is held for a retry (beyond: dropped). */
const MAX_FUTURE_WAIT_MS = 30_000;
const MAX_FUTURE_BLOCKS = 32;

/**
 * Blocks refused as FutureBlock (their slot had not begun on our clock: a peer's clock a little
 * ahead of ours) are tried once more when their time comes, instead of waiting for sync. Held
 * in memory, a few at most, and only those due soon.
 */
export class FutureBlocks {
  readonly #held = new Map<string, NodeJS.Timeout>();
  readonly #retry: (block: Block, from: string) => void;
  readonly #now: () => number;

  constructor(retry: (block: Block, from: string) => void, now: () => number = Date.now) {
    this.#retry = retry;
    this.#now = now;
  }

  get size(): number {
    return this.#held.size;
  }

  add(block: Block, from: string): void {
    const wait = block.header.timestamp - this.#now();
    if (this.#held.has(block.hashHex) || wait > MAX_FUTURE_WAIT_MS) return;
    if (this.#held.size >= MAX_FUTURE_BLOCKS) return;
    const timer = setTimeout(() => {
      this.#held.delete(block.hashHex);
      this.#retry(block, from);
    }, Math.max(0, wait) + 20);
    timer.unref();
    this.#held.set(block.hashHex, timer);
  }

  clear(): void {
    for (const timer of this.#held.values()) clearTimeout(timer);
    this.#held.clear();
  }
}

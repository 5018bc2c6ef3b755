import type { KeyObject } from "node:crypto";
import type { Block, BlockHeader, Seal } from "../core/block.js";
import type { Genesis } from "../core/genesis.js";
import type { Address } from "../core/keys.js";
import type { Transaction } from "../core/transaction.js";

/**
 * The consensus Engine, in the spirit of go-ethereum's consensus.Engine: the chain and the node
 * call this interface and never ask which consensus a network runs. Two implementations:
 * Proof of Stake (the "lot" lottery, ./pos) and Proof of Work (./pow).
 *
 * Everything here is pure but the producer: time comes in as `now`, state as arguments.
 */

/** Validators of a state: stake > 0, sorted by address, with running totals for the lottery. */
export interface ValidatorSet {
  readonly entries: readonly { address: Address; stake: bigint }[];
  /** cumulative[i] = sum of stakes of entries[0..i] inclusive. */
  readonly cumulative: readonly bigint[];
  readonly total: bigint;
}

/** Ancestor headers of the branch being verified, for rules that look back (PoW retarget). */
export interface HeaderReader {
  /** The header with this hash (hex), if known. */
  getHeader(hashHex: string): BlockHeader | undefined;
}

export interface VerifyContext {
  /** Validators of the parent's state (the state the new block applies to). */
  validators: ValidatorSet;
  headers: HeaderReader;
  /** Wall-clock milliseconds of the verifying node. */
  now: number;
}

export interface Engine {
  readonly type: "pos" | "pow";
  /** Blocks this deep under the head never reorganise. */
  readonly finalityDepth: number;
  /**
   * How far ahead of `now` a block's timestamp may be (clock drift between honest nodes). A
   * block rejected as FutureBlock becomes valid once the clock passes timestamp - clockDriftMs,
   * so the chain may hold it and retry rather than mark it invalid for good.
   */
  readonly clockDriftMs: number;

  /**
   * Cheap checks that need neither parent nor state (PoW: hash under the header's target).
   * Run on every block before it is stored anywhere; throws ValidationError.
   */
  verifySealStateless(block: Block): void;

  /**
   * Full consensus check of a header against its parent: seal kind, time rules, the right of
   * the forger to produce this block (PoS lottery winner, PoW work and target). The block
   * signature, height, parent hash and chain id are checked by the chain for every engine.
   * Throws ValidationError with a named code.
   */
  verifyHeader(header: BlockHeader, parent: BlockHeader, ctx: VerifyContext): void;

  /**
   * The header rules that need the parent but no state: PoS slot order, slot time and the
   * randomness signature (all but the lottery); PoW everything. The chain runs them before it
   * stores a block on a side branch, whose state is unknown until the branch becomes the best,
   * so a fork of junk costs its sender and not this node's disk.
   */
  verifyHeaderAgainstParent(
    header: BlockHeader,
    parent: BlockHeader,
    ctx: Omit<VerifyContext, "validators">,
  ): void;

  /** Cumulative fork-choice score of a block: the parent's score plus this block's weight. */
  score(header: BlockHeader, parentScore: bigint): bigint;

  /** Starts producing blocks with the given key (PoS forging or PoW mining). */
  createProducer(deps: ProducerDeps): BlockProducer;
}

/** A candidate's view of the chain head, from which a producer builds the next block. */
export interface HeadInfo {
  header: BlockHeader;
  hash: Uint8Array;
  validators: ValidatorSet;
  headers: HeaderReader;
}

export interface ProducerDeps {
  privateKey: KeyObject;
  publicKey: Uint8Array;
  /** The current head. */
  head(): HeadInfo;
  /** Transactions for the next block on the current head, in order, at most `max`. */
  selectTransactions(max: number): Transaction[];
  /** Hands a sealed block to the chain; resolves once imported (or rejects). */
  submit(block: Block): Promise<void>;
  /** Forge blocks without transactions too (PoS); PoW always mines. */
  forgeEmptyBlocks: boolean;
  /**
   * True while the node is catching up with peers that have a better chain: a block produced
   * on a stale head would only start a fork, so the producer waits.
   */
  paused?: () => boolean;
  now(): number;
  log: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    debug(obj: object, msg?: string): void;
  };
}

export interface BlockProducer {
  start(): void;
  /** The chain's head changed: PoW restarts mining on it; PoS notes it. */
  onNewHead(): void;
  /** New transactions arrived (a PoS forger may now have something to forge). */
  onTransactions(): void;
  stop(): Promise<void>;
  /** Counters for logs, metrics and tests. */
  stats(): ProducerStats;
}

export interface ProducerStats {
  running: boolean;
  /** Blocks sealed and handed to `submit`. */
  produced: number;
  /** PoS: distinct slots whose lottery this producer drew; PoW: 0. */
  slotsChecked: number;
  /** PoS: of those, the slots this key won; PoW: 0. */
  slotsWon: number;
  /** PoW: header hashes the miner tried; PoS: 0. */
  hashes: number;
}

/** Builds the engine a genesis file names. */
export type EngineFactory = (genesis: Genesis) => Engine;

export type { Seal };

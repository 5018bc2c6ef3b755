import type { KeyObject } from "node:crypto";
import type { Block, BlockHeader, Seal } from "../core/block.js";
import type { Evidence } from "../core/evidence.js";
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

/**
 * What a PoS block carries forward to its children, derived from its parent's link at the time
 * the block is attached (so a branch needs no replay to know it) and kept in the chain's block
 * info. PoW blocks have none. See pos/epochs.ts for the rules.
 */
export interface EpochLink {
  /** Nonce of the block's epoch: every slot seed of the epoch derives from it. */
  nonce: Uint8Array;
  /** Running hash of the VRF outputs of the branch's blocks in this epoch, through this block. */
  accumulator: Uint8Array;
  /** Hash of the block whose state's validators hold the lots of this epoch (the snapshot). */
  snapshot: Uint8Array;
  /** Hash of the last block of the branch before this block's epoch. */
  lastBeforeEpoch: Uint8Array;
}

/** A stored block as the engine reads a parent. */
export interface LinkedHeader {
  header: BlockHeader;
  hash: Uint8Array;
  /** Its EpochLink (PoS); undefined under PoW. */
  link: EpochLink | undefined;
}

/** The epoch a child of some parent falls in, at some slot: what its lottery draws from. */
export interface EpochContext {
  epoch: number;
  /** The epoch nonce: slot seeds and VRF inputs of the epoch derive from it. */
  nonce: Uint8Array;
  /** Hash of the snapshot block: the validators of its state hold the epoch's lots. */
  snapshot: Uint8Array;
  lastBeforeEpoch: Uint8Array;
  /** The accumulator the child's VRF output folds into (empty when the child starts the epoch). */
  accumulator: Uint8Array;
  /**
   * The child is the branch's first block of its epoch. Its parent's validators may then be the
   * snapshot of a later epoch, so the chain records them when its state passes the parent.
   */
  startsEpoch: boolean;
}

/** The lottery of one epoch on one branch: its context and its snapshot's validators. */
export interface EpochLottery {
  epoch: EpochContext;
  validators: ValidatorSet;
}

export interface VerifyContext {
  headers: HeaderReader;
  /** Wall-clock milliseconds of the verifying node. */
  now: number;
  /** PoS: the block's epoch (engine.epochContext of its parent) and its snapshot's validators. */
  lottery?: EpochLottery;
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
   * the forger to produce this block (PoS: lottery winner of its slot over `ctx.lottery`, and its
   * randomness a valid VRF proof; PoW: work and target). The block signature, height, parent
   * hash and chain id are checked by the chain for every engine. Returns the block's EpochLink
   * (PoS) for the chain to store; throws ValidationError with a named code.
   */
  verifyHeader(header: BlockHeader, parent: BlockHeader, ctx: VerifyContext): EpochLink | undefined;

  /** The EpochLink of the genesis block (PoS); undefined under PoW. */
  genesisLink(genesis: Block): EpochLink | undefined;

  /**
   * The slot a header claims (PoS), for the chain's bound on blocks per forger and slot;
   * undefined under PoW.
   */
  productionSlot(header: BlockHeader): number | undefined;

  /**
   * The epoch of a child of `parent` in `slot` (PoS): its nonce and the snapshot whose
   * validators the chain must supply in VerifyContext.lottery. Undefined under PoW.
   */
  epochContext(parent: LinkedHeader, slot: number): EpochContext | undefined;

  /** Cumulative fork-choice score of a block: the parent's score plus this block's weight. */
  score(header: BlockHeader, parentScore: bigint): bigint;

  /**
   * Whether a block that arrived at `arrivalMs` came too late to displace a head of equal score
   * (PoS: after its slot's end plus a grace period; PoW: never, ties go by hash).
   */
  arrivedLate(header: BlockHeader, arrivalMs: number): boolean;

  /** PoS: the slot at wall-clock `now`; undefined under PoW. */
  slotAt(now: number): number | undefined;

  /** Starts producing blocks with the given key (PoS forging or PoW mining). */
  createProducer(deps: ProducerDeps): BlockProducer;
}

/** A candidate's view of the chain head, from which a producer builds the next block. */
export interface HeadInfo {
  header: BlockHeader;
  hash: Uint8Array;
  headers: HeaderReader;
  /**
   * The lottery of a child of the head in `slot` (PoS): the epoch it falls in and the validators
   * of that epoch's snapshot. Undefined under PoW, or when the snapshot is not known here.
   */
  lottery(slot: number): EpochLottery | undefined;
}

export interface ProducerDeps {
  privateKey: KeyObject;
  publicKey: Uint8Array;
  /** The current head. */
  head(): HeadInfo;
  /**
   * The body of the next block on the current head: at most `maxTransactions` transactions in
   * order and (PoS) the slashing evidence to include, all applying to the head state at `slot`,
   * every transaction inside the block window around `timestamp` (the block's own).
   */
  selectBody(maxTransactions: number, slot: number | undefined, timestamp: number): BlockBodyChoice;
  /** The state root after applying a body (as chosen, trimmed to fit) to the head, by its key. */
  stateRoot(body: BlockBodyChoice, slot: number | undefined): Uint8Array;
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

export interface BlockBodyChoice {
  transactions: Transaction[];
  evidence: Evidence[];
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

import type { Engine, EpochLottery, ValidatorSet } from "../consensus/engine.js";
import type { Block } from "../core/block.js";
import { equalBytes, toHex } from "../core/bytes.js";
import { isValidationError, reject, type ValidationError } from "../core/errors.js";
import { type SmtUpdate, updateSmt } from "../core/smt.js";
import { applyBlockTransactions, type LedgerParams, type Slashing } from "../core/state.js";
import type { Transaction } from "../core/transaction.js";
import type { StoreBatch } from "../store/batch.js";
import { type BlockInfo, StoreCorruptError } from "../store/codec.js";
import type { ChainStore } from "../store/store.js";
import { type HeadState, StateDelta } from "./account-state.js";
import type { BlockSource } from "./block-source.js";
import type { SnapshotBook } from "./snapshots.js";
import { type StateTree, stateChanges, type TreeWriter } from "./state-tree.js";

export interface PathStep {
  block: Block;
  info: BlockInfo;
  /** Already in the store (a side-branch block); otherwise it is the block being imported. */
  stored: boolean;
}

/** A move of the head: revert down to the fork, then apply a branch up to its tip. */
export interface ChainPath {
  fork: { hash: string; height: number };
  /** Main-chain blocks to undo, from the head downward. */
  revert: Block[];
  /** Blocks to connect, in height order; the last one becomes the head. Never empty. */
  apply: PathStep[];
}

export interface ConnectContext {
  store: ChainStore;
  blocks: BlockSource;
  state: HeadState;
  engine: Engine;
  params: LedgerParams;
  now: () => number;
  isVerified?: ((tx: Transaction) => boolean) | undefined;
  snapshots: SnapshotBook;
  tree: StateTree;
}

/** A block of the path broke a rule: nothing was written. */
export class BranchFailure extends Error {
  constructor(
    readonly block: Block,
    readonly error: ValidationError,
  ) {
    super(`block ${block.hashHex} at height ${block.header.height}: ${error.message}`);
  }
}

/** A path walked: the state at its end and what storing it takes. */
export interface WalkedPath {
  batch: StoreBatch;
  delta: StateDelta;
  /** Validators of possible snapshots the walk passed (block hash → set), to record. */
  snapshots: Map<string, ValidatorSet>;
  /** What the evidence of the applied blocks slashed, block by block. */
  slashings: BlockSlashings[];
  /** The state tree's changes: nodes made, counts, journals (written by prepareConnection). */
  tree: TreeWriter;
  /** State tree nodes the batch deletes (to drop from caches once it is written). */
  deletedNodes: string[];
}

export interface BlockSlashings {
  block: Block;
  slashings: Slashing[];
}

/**
 * Validates a path in full against the state it leads through and collects everything it
 * changes into one batch: for each reverted block its undo applied, its transactions unindexed
 * and its undo data dropped; for each applied block the engine's header rules against its
 * parent and its epoch's lottery, the state transition of its body, its height, its
 * transactions, its undo data, its validity and its epoch link; then the final accounts, the
 * head, the minted counter and the snapshots passed. Neither the store nor the head state
 * changes here: the caller writes the batch, then commits the delta and the snapshots. Throws
 * BranchFailure at the first block that breaks a rule.
 */
export function prepareConnection(ctx: ConnectContext, path: ChainPath): WalkedPath {
  const walked = walkPath(ctx, path);
  const { batch, delta } = walked;
  for (const [address, account] of delta.changes) batch.setAccount(address, account);
  const tip = path.apply[path.apply.length - 1]!.block;
  batch.setHead(tip.hash).setMinted(delta.minted).setBurned(delta.burned);
  ctx.snapshots.write(batch, walked.snapshots);
  // Blocks that became final hand back the nodes they dropped from their parents' trees.
  const depth = ctx.engine.finalityDepth;
  const oldFinal = Math.max(0, path.fork.height + path.revert.length - depth);
  const newFinal = Math.max(0, tip.header.height - depth);
  for (let h = oldFinal + 1; h <= newFinal; h++) {
    const step = path.apply[h - path.fork.height - 1];
    const hash = step ? step.block.hashHex : ctx.store.mainHash(h);
    if (!hash) throw new StoreCorruptError(`no main-chain block at height ${h}`);
    walked.tree.finalized(hash);
  }
  walked.deletedNodes.push(...walked.tree.write(batch));
  return walked;
}

/**
 * The walk of prepareConnection without the head: reverts to the fork and applies the branch
 * (possibly none of it), checking every rule. Also what tells the state after a block off the
 * main chain, for the lottery of a side branch.
 */
export function walkPath(ctx: ConnectContext, path: ChainPath): WalkedPath {
  const delta = new StateDelta(ctx.state);
  const batch = ctx.store.batch();
  const snapshots = new Map<string, ValidatorSet>();
  const slashings: BlockSlashings[] = [];
  const tree = ctx.tree.writer();
  const tipHeight = path.fork.height + path.apply.length;
  for (const block of path.revert) {
    const undo = ctx.store.undo(block.hashHex);
    if (!undo)
      throw new StoreCorruptError(`undo data of main-chain block ${block.hashHex} is missing`);
    delta.revert(undo);
    tree.reverted(block.hashHex);
    batch.unindexTransactions(block).deleteUndo(block.hash);
    if (block.header.height > tipHeight) batch.deleteMainHash(block.header.height);
  }
  let parent = ctx.blocks.getHeader(path.fork.hash);
  let parentHex = path.fork.hash;
  let parentLink = ctx.store.blockInfo(path.fork.hash)?.link;
  if (!parent) throw new StoreCorruptError(`fork block ${path.fork.hash} is missing`);
  let root = parent.stateRoot;
  for (const step of path.apply) {
    const { block } = step;
    let effects: ReturnType<typeof applyBlockTransactions>;
    let update: SmtUpdate;
    let link: BlockInfo["link"];
    const slot = ctx.engine.productionSlot(block.header);
    try {
      let lottery: EpochLottery | undefined;
      const epoch =
        slot === undefined
          ? undefined
          : ctx.engine.epochContext(
              { header: parent, hash: block.header.previousHash, link: parentLink },
              slot,
            );
      if (epoch) {
        // The parent closes an epoch of this branch: its state may be a later snapshot.
        if (epoch.startsEpoch) snapshots.set(parentHex, delta.validators());
        const snapshot = toHex(epoch.snapshot);
        const validators = snapshots.get(snapshot) ?? ctx.snapshots.get(snapshot);
        if (!validators)
          throw new StoreCorruptError(`the validators of snapshot ${snapshot} are not recorded`);
        lottery = { epoch, validators };
      }
      link = ctx.engine.verifyHeader(block.header, parent, {
        headers: ctx.blocks,
        now: ctx.now(),
        lottery,
      });
      effects = applyBlockTransactions(
        delta,
        block,
        { forger: block.header.forger, slot, totals: delta.totals },
        ctx.params,
        ctx.isVerified,
      );
      update = updateSmt(tree.reader, root, stateChanges(effects.changes));
      if (!equalBytes(update.root, block.header.stateRoot))
        reject(
          "BadStateRoot",
          `stateRoot ${toHex(block.header.stateRoot)} is not the root of the state after the ` +
            `block (${toHex(update.root)} here)`,
        );
    } catch (e) {
      if (isValidationError(e)) throw new BranchFailure(block, e);
      throw e;
    }
    delta.apply(effects);
    tree.applied(block.hashHex, update);
    root = update.root;
    if (effects.slashings.length > 0) slashings.push({ block, slashings: effects.slashings });
    const info: BlockInfo = { ...step.info, link, validity: "valid" };
    if (step.stored) batch.putBlockInfo(block.hashHex, info);
    else {
      batch.putBlock(block, info);
      if (slot !== undefined) batch.indexForged(slot, block.header.forger, block.hash);
    }
    batch
      .setMainHash(block.header.height, block.hash)
      .indexTransactions(block)
      .putUndo(block.hash, {
        accounts: [...effects.undo],
        minted: effects.minted,
        burned: effects.burned,
      });
    parent = block.header;
    parentHex = block.hashHex;
    parentLink = link;
  }
  return { batch, delta, snapshots, slashings, tree, deletedNodes: [] };
}

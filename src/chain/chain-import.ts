import type { Engine, EpochLottery, ValidatorSet } from "../consensus/engine.js";
import type { Block } from "../core/block.js";
import { toHex } from "../core/bytes.js";
import { isValidationError, type RejectCode, reject } from "../core/errors.js";
import { makeEvidence } from "../core/evidence.js";
import type { LedgerParams } from "../core/state.js";
import type { Transaction } from "../core/transaction.js";
import type { StoreBatch } from "../store/batch.js";
import type { BlockInfo } from "../store/codec.js";
import type { ChainStore } from "../store/store.js";
import type { HeadState } from "./account-state.js";
import { checkBlockStateless } from "./block-checks.js";
import type { BlockSource } from "./block-source.js";
import type { ChainEventMap, ChainHead, ChainLogger, ImportResult } from "./chain-events.js";
import {
  type BlockSlashings,
  BranchFailure,
  type ChainPath,
  type ConnectContext,
  prepareConnection,
  walkPath,
} from "./connect.js";
import { findFork, isBetter } from "./fork-choice.js";
import { LruCache } from "./lru.js";
import { OrphanPool } from "./orphan-pool.js";
import type { SignatureCache } from "./signatures.js";
import type { SnapshotBook } from "./snapshots.js";
import type { StateTree } from "./state-tree.js";

/**
 * Failures that say "not yet" rather than "never": a stored block failing with one of them is
 * not marked invalid, so it can connect once its time has come.
 */
const TRANSIENT_CODES = new Set<RejectCode>(["FutureBlock"]);

/**
 * Failures that do not condemn a block hash: the transient ones, and those of parts the hash
 * does not commit to (it covers the header only: a bad signature or a body that does not match
 * the header's txRoot says nothing about the real block of that hash).
 */
const NOT_REMEMBERED = new Set<RejectCode>([
  ...TRANSIENT_CODES,
  "BelowFinality",
  "BadBlockSignature",
  "BadTxRoot",
  "BadEvidenceRoot",
  "TooManyTransactions",
  "TooMuchEvidence",
  "TooLarge",
  "Malformed",
]);

/**
 * Stored blocks one forger may have for one slot (PoS). An honest forger signs one; two let a
 * node see an equivocation. Beyond that a side block is held in memory (parked), not stored,
 * until a block building on it arrives: a forger who won a slot cannot fill every node's disk
 * with variants of its block, and a branch that honest nodes extend still connects.
 */
export const MAX_BLOCKS_PER_FORGER_SLOT = 2;
const PARKED_LIMITS = { maxBlocks: 32, maxBytes: 8 * 1024 * 1024 };

export interface ImporterDeps {
  chainId: string;
  store: ChainStore;
  blocks: BlockSource;
  state: HeadState;
  engine: Engine;
  params: LedgerParams;
  orphans: OrphanPool;
  snapshots: SnapshotBook;
  tree: StateTree;
  log: ChainLogger;
  now: () => number;
  /** The node's signature cache: a transaction verified once (mempool, gossip) is not again. */
  signatures: Pick<SignatureCache, "isVerified" | "prepare">;
  emit<K extends keyof ChainEventMap>(event: K, ...args: ChainEventMap[K]): void;
}

/**
 * The chain's import path: stateless checks, the orphan pool, fork choice in the block tree,
 * connection and reorganisation in one batch, invalid branches, events. It owns the head; it
 * is not re-entrant (the Chain runs it for one block at a time).
 */
export class BlockImporter {
  /** Hashes of recently rejected blocks that are invalid for good (not stored anywhere). */
  private readonly rejected = new LruCache<string, true>(4096);
  /** Side blocks over MAX_BLOCKS_PER_FORGER_SLOT, held until a child arrives (by parent hash). */
  private readonly parked = new OrphanPool(PARKED_LIMITS);

  constructor(
    private readonly deps: ImporterDeps,
    public head: ChainHead,
  ) {}

  /** Height at and below which no reorganisation reaches. */
  get finalizedHeight(): number {
    return Math.max(0, this.head.height - this.deps.engine.finalityDepth);
  }

  /**
   * Imports one block: resolves with where it went, or rejects with a ValidationError (named
   * code) and changes nothing but the invalid marks of a failing stored branch.
   */
  async importBlock(block: Block): Promise<ImportResult> {
    try {
      const known = this.knownStatus(block);
      if (known) return known;
      checkBlockStateless(block, this.deps.chainId, this.deps.engine);
      // Signatures not seen before are checked in the worker pool, all at once; the state
      // transition then finds them cached (a forged one is not: it is refused with its code).
      await this.deps.signatures.prepare(block.transactions);
      const parentHash = toHex(block.header.previousHash);
      if (!this.deps.store.hasBlock(parentHash)) {
        const parked = this.parked.remove(parentHash);
        if (!parked) return this.addOrphan(block);
        // A block builds on a parked one: that one is wanted after all.
        await this.attach(parked, { unbounded: true });
      }
      const status = await this.attach(block);
      if (status === "parked") return { status: "known" };
      await this.connectOrphans(block.hashHex);
      return { status };
    } catch (e) {
      if (isValidationError(e)) this.noteRejected(block, e.code);
      throw e;
    }
  }

  private noteRejected(block: Block, code: RejectCode): void {
    // A failure that does not condemn the hash (a bad copy: forged signature, a body that does
    // not match the header; or not yet: FutureBlock) leaves the pooled children waiting for the
    // real block. Otherwise they cannot connect through it.
    if (NOT_REMEMBERED.has(code)) return;
    this.rejected.set(block.hashHex, true);
    this.deps.orphans.dropDescendants(block.hashHex);
  }

  private isKnownInvalid(hash: string): boolean {
    return (
      this.rejected.get(hash) !== undefined ||
      this.deps.store.blockInfo(hash)?.validity === "invalid"
    );
  }

  private knownStatus(block: Block): ImportResult | undefined {
    if (this.isKnownInvalid(block.hashHex))
      reject("KnownInvalid", `block ${block.hashHex} is invalid`);
    const parentHash = toHex(block.header.previousHash);
    if (this.isKnownInvalid(parentHash))
      reject("KnownInvalid", `block ${block.hashHex} builds on invalid block ${parentHash}`);
    if (this.deps.store.hasBlock(block.hashHex) || this.parked.has(block.hashHex))
      return { status: "known" };
    if (this.deps.orphans.has(block.hashHex))
      return { status: "orphan", missingParent: this.deps.orphans.missingAncestor(block) };
    return undefined;
  }

  private addOrphan(block: Block): ImportResult {
    // Its parent is unknown, so it is not on the main chain: at or below the finalized height
    // it could only join through a reorganisation of final blocks.
    if (block.header.height <= this.finalizedHeight)
      reject("BelowFinality", `unknown branch at height ${block.header.height}, below finality`);
    this.deps.orphans.add(block);
    return { status: "orphan", missingParent: this.deps.orphans.missingAncestor(block) };
  }

  /** Connects the pooled blocks waiting for `hash`, and theirs, depth first. */
  private async connectOrphans(hash: string): Promise<void> {
    const pending = [hash];
    for (let parent = pending.pop(); parent !== undefined; parent = pending.pop()) {
      for (const child of this.deps.orphans.takeChildren(parent)) {
        try {
          // Its own child waited for it: it is wanted, whatever the bound per forger and slot.
          if (!this.deps.store.hasBlock(child.hashHex))
            await this.attach(child, { unbounded: true });
          pending.push(child.hashHex);
        } catch (e) {
          if (!isValidationError(e)) throw e;
          this.noteRejected(child, e.code);
          this.deps.log.debug(
            { block: child.hashHex, code: e.code, reason: e.message },
            "orphan rejected",
          );
        }
      }
    }
  }

  /** Whether a block is parked (see MAX_BLOCKS_PER_FORGER_SLOT). */
  isParked(hash: string): boolean {
    return this.parked.has(hash);
  }

  /**
   * Adds a block whose parent is stored: to a side branch, or as the new head. A side block is
   * checked in full against its parent and its epoch's lottery before it is stored (its state
   * is checked when its branch becomes the best), so a fork of junk costs its sender, not this
   * node's disk; "parked" when it is held back instead (MAX_BLOCKS_PER_FORGER_SLOT).
   */
  private async attach(
    block: Block,
    options: { unbounded?: boolean } = {},
  ): Promise<"head" | "side" | "parked"> {
    const parentHash = toHex(block.header.previousHash);
    const parent = this.deps.store.blockInfo(parentHash)!;
    if (parent.validity === "invalid") reject("KnownInvalid", `parent ${parentHash} is invalid`);
    if (block.header.height !== parent.height + 1)
      reject("BadHeight", `height ${block.header.height} does not follow parent ${parent.height}`);
    const { fork, branch } = findFork(this.deps.store, parentHash, this.finalizedHeight);
    const info: BlockInfo = {
      height: block.header.height,
      parentHash: block.header.previousHash,
      score: this.deps.engine.score(block.header, parent.score),
      validity: "unknown",
    };
    if (!this.displacesHead(block, info.score)) {
      const { engine, store } = this.deps;
      const parentHeader = this.deps.blocks.getHeader(parentHash)!;
      const slot = engine.productionSlot(block.header);
      if (
        slot !== undefined &&
        !options.unbounded &&
        !this.deps.orphans.hasChildren(block.hashHex) &&
        (await store.countForged(slot, block.header.forger, MAX_BLOCKS_PER_FORGER_SLOT)) >=
          MAX_BLOCKS_PER_FORGER_SLOT
      ) {
        this.parked.add(block);
        this.deps.log.debug(
          { block: block.hashHex, slot, forger: toHex(block.header.forger) },
          "another block of one forger for one slot: held in memory, not stored",
        );
        return "parked";
      }
      let lottery: EpochLottery | undefined;
      const epoch =
        slot === undefined
          ? undefined
          : engine.epochContext(
              { header: parentHeader, hash: block.header.previousHash, link: parent.link },
              slot,
            );
      if (epoch)
        lottery = { epoch, validators: await this.snapshotValidators(toHex(epoch.snapshot)) };
      info.link = engine.verifyHeader(block.header, parentHeader, {
        headers: this.deps.blocks,
        now: this.deps.now(),
        lottery,
      });
      const batch = store.batch().putBlock(block, info);
      if (slot !== undefined) batch.indexForged(slot, block.header.forger, block.hash);
      await batch.write();
      this.deps.blocks.remember(block);
      this.deps.emit("block", { block, status: "side" });
      await this.detectEquivocation(block);
      return "side";
    }
    const path: ChainPath = {
      fork,
      revert: this.mainBlocksAbove(fork.height),
      apply: [
        ...branch.map((hash) => ({
          block: this.deps.blocks.requireBlock(hash),
          info: this.deps.store.blockInfo(hash)!,
          stored: true,
        })),
        { block, info, stored: false },
      ],
    };
    await this.connect(path, block);
    await this.detectEquivocation(block);
    return "head";
  }

  /**
   * A stored PoS block whose forger has another stored block for the same slot: the two headers
   * are slashing evidence, handed out as an `evidence` event (the node pools and gossips it).
   */
  private async detectEquivocation(block: Block): Promise<void> {
    const slot = this.deps.engine.productionSlot(block.header);
    if (slot === undefined) return;
    const hashes = await this.deps.store.forgedHashes(slot, block.header.forger, 2);
    const other = hashes.find((hash) => hash !== block.hashHex);
    if (!other) return;
    const otherBlock = this.deps.blocks.block(other);
    if (!otherBlock) return;
    const evidence = makeEvidence(block, otherBlock);
    this.deps.log.warn(
      { forger: evidence.offender, slot, blocks: [block.hashHex, other] },
      "a forger signed two blocks for one slot: slashing evidence",
    );
    this.deps.emit("evidence", evidence);
  }

  /**
   * Whether a block whose branch scores `score` takes the head (fork-choice.ts): a better score,
   * or an equal one with an earlier slot or a lower hash — unless it arrived after its slot ended,
   * which lets it extend the chain but never displace an equal head.
   */
  private displacesHead(block: Block, score: bigint): boolean {
    const { engine } = this.deps;
    const candidate = {
      score,
      hashHex: block.hashHex,
      slot: engine.productionSlot(block.header),
    };
    const head = { ...this.head, slot: engine.productionSlot(this.head.header) };
    if (!isBetter(candidate, head)) return false;
    if (score !== head.score) return true;
    if (!engine.arrivedLate(block.header, this.deps.now())) return true;
    this.deps.log.info(
      { block: block.hashHex, head: this.head.hashHex },
      "a block of equal height arrived after its slot: it does not displace the head",
    );
    return false;
  }

  /**
   * The validators of a snapshot block, for a side block's lottery: recorded, or else (a block
   * the main chain never passed as a possible snapshot: a fork right at it, or a block of a side
   * branch) computed by walking from the head to that block — reverting main-chain blocks and
   * applying side blocks with every rule — and recorded then. A branch that fails on the way is
   * marked invalid, and the block that needed it is refused.
   */
  private async snapshotValidators(hash: string): Promise<ValidatorSet> {
    const known = this.deps.snapshots.get(hash);
    if (known) return known;
    const { fork, branch } = findFork(this.deps.store, hash, this.finalizedHeight);
    const path: ChainPath = {
      fork,
      revert: this.mainBlocksAbove(fork.height),
      apply: branch.map((h) => ({
        block: this.deps.blocks.requireBlock(h),
        info: this.deps.store.blockInfo(h)!,
        stored: true,
      })),
    };
    let walked: ReturnType<typeof walkPath>;
    try {
      walked = walkPath(this.connectContext(), path);
    } catch (e) {
      if (!(e instanceof BranchFailure)) throw e;
      if (!TRANSIENT_CODES.has(e.error.code)) await this.markInvalid(e.block.hashHex);
      return reject("KnownInvalid", `the branch of snapshot ${hash} is invalid: ${e.message}`);
    }
    const validators = walked.delta.validators();
    walked.snapshots.set(hash, validators);
    const batch = this.deps.store.batch();
    this.deps.snapshots.write(batch, walked.snapshots);
    await batch.write();
    this.deps.snapshots.written(batch);
    this.deps.snapshots.remember(walked.snapshots);
    return validators;
  }

  private mainBlocksAbove(height: number): Block[] {
    const out: Block[] = [];
    for (let h = this.head.height; h > height; h--)
      out.push(this.deps.blocks.requireBlock(this.deps.store.mainHash(h)!));
    return out;
  }

  private connectContext(): ConnectContext {
    return {
      store: this.deps.store,
      blocks: this.deps.blocks,
      state: this.deps.state,
      engine: this.deps.engine,
      params: this.deps.params,
      now: this.deps.now,
      isVerified: (tx: Transaction) => this.deps.signatures.isVerified(tx),
      snapshots: this.deps.snapshots,
      tree: this.deps.tree,
    };
  }

  /** Moves the head along a path in one batch, or marks the failing block and rejects. */
  private async connect(path: ChainPath, imported: Block): Promise<void> {
    let prepared: ReturnType<typeof prepareConnection>;
    try {
      prepared = prepareConnection(this.connectContext(), path);
    } catch (e) {
      if (!(e instanceof BranchFailure)) throw e;
      const failed = e.block;
      if (failed !== imported && !TRANSIENT_CODES.has(e.error.code))
        await this.markInvalid(failed.hashHex);
      if (failed === imported) throw e.error;
      return reject(
        e.error.code,
        `block ${imported.hashHex} builds on an invalid block: ${e.message}`,
      );
    }
    const tipHeight = path.fork.height + path.apply.length;
    const pruned = await this.pruneSideBranches(prepared.batch, path, tipHeight);
    this.deps.snapshots.dropRecords(prepared.batch, pruned);
    await prepared.batch.write();
    for (const hash of pruned) {
      this.deps.blocks.forget(hash);
      this.deps.orphans.dropDescendants(hash);
    }
    if (pruned.length > 0)
      this.deps.log.debug({ blocks: pruned.length }, "side branches below finality pruned");
    this.deps.tree.forget(prepared.deletedNodes);
    this.deps.state.commit(prepared.delta);
    this.deps.snapshots.written(prepared.batch, pruned);
    this.deps.snapshots.remember(prepared.snapshots);
    const applied = path.apply.map((step) => step.block);
    for (const block of applied) this.deps.blocks.remember(block);
    const tip = applied[applied.length - 1]!;
    this.head = {
      hash: tip.hash,
      hashHex: tip.hashHex,
      height: tip.header.height,
      header: tip.header,
      score: path.apply[path.apply.length - 1]!.info.score,
    };
    this.announce(path, applied, imported, prepared.slashings);
  }

  private announce(
    path: ChainPath,
    applied: Block[],
    imported: Block,
    slashings: readonly BlockSlashings[],
  ): void {
    this.deps.emit("block", { block: imported, status: "head" });
    if (path.revert.length > 0) {
      const addedTransactions = applied.flatMap((b) => b.transactions);
      const added = new Set(addedTransactions.map((tx) => tx.id));
      const revertedTransactions = [...path.revert]
        .reverse()
        .flatMap((b) => b.transactions)
        .filter((tx) => !added.has(tx.id));
      this.deps.log.info(
        { depth: path.revert.length, fork: path.fork.height, head: imported.hashHex },
        "reorganisation",
      );
      const oldHead = path.revert[0]!;
      this.deps.emit("reorg", {
        depth: path.revert.length,
        commonAncestor: path.fork,
        oldHead: { hash: oldHead.hashHex, height: oldHead.header.height },
        newHead: { hash: imported.hashHex, height: imported.header.height },
        revertedTransactions,
        addedTransactions,
      });
    }
    for (const { block, slashings: list } of slashings)
      for (const slashing of list) this.deps.emit("slashing", { block, slashing });
    this.deps.emit("head", { head: imported, applied, reverted: path.revert });
  }

  /**
   * Adds to a connection's batch the deletion of every side branch that the move of the head to
   * `tipHeight` puts below finality: for each height that becomes final, the stored children of
   * the main block below it other than the main block, and all their descendants. No branch that
   * leaves the main chain there can ever be chosen (findFork refuses it), so they would only
   * take disk: side blocks that passed every header rule and the lottery (a staked forger's
   * second block for a slot, a lost race, a reorganised-away branch) are kept while they could
   * still matter and no longer. In the same batch as the head, so a crash leaves neither half.
   * Returns the pruned hashes.
   */
  private async pruneSideBranches(
    batch: StoreBatch,
    path: ChainPath,
    tipHeight: number,
  ): Promise<string[]> {
    const { store, engine } = this.deps;
    const oldFinal = this.finalizedHeight;
    const newFinal = Math.max(0, tipHeight - engine.finalityDepth);
    const mainAt = (h: number): string | undefined =>
      h > path.fork.height
        ? path.apply[h - path.fork.height - 1]?.block.hashHex
        : store.mainHash(h);
    const pruned: string[] = [];
    for (let h = Math.max(1, oldFinal + 1); h <= newFinal; h++) {
      const parent = mainAt(h - 1);
      const kept = mainAt(h);
      if (parent === undefined || kept === undefined) continue;
      const pending = (await store.children(parent)).filter((child) => child !== kept);
      for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
        const header = this.deps.blocks.getHeader(next);
        const info = store.blockInfo(next);
        if (!header || !info) continue;
        const slot = engine.productionSlot(header);
        batch.deleteBlock(
          next,
          info.parentHash,
          slot === undefined ? undefined : { slot, forger: header.forger },
        );
        pruned.push(next);
        pending.push(...(await store.children(next)));
      }
    }
    return pruned;
  }

  /** Marks a stored block and every stored descendant invalid, in one batch. */
  private async markInvalid(hash: string): Promise<void> {
    const batch = this.deps.store.batch();
    const pending = [hash];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const info = this.deps.store.blockInfo(next);
      if (!info || info.validity === "invalid") continue;
      batch.putBlockInfo(next, { ...info, validity: "invalid" });
      this.deps.orphans.dropDescendants(next);
      pending.push(...(await this.deps.store.children(next)));
    }
    await batch.write();
    this.deps.log.warn({ block: hash, marked: batch.size }, "branch marked invalid");
  }
}

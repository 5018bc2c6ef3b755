import type { ValidatorSet } from "../consensus/engine.js";
import { buildValidatorSet } from "../consensus/validators.js";
import { toHex } from "../core/bytes.js";
import { taggedHash } from "../core/hash.js";
import type { StoreBatch } from "../store/batch.js";
import { decodeValidators, encodeValidators, StoreCorruptError } from "../store/codec.js";
import type { ChainStore } from "../store/store.js";
import { LruCache } from "./lru.js";

/**
 * The validator sets the PoS lottery draws from: for each possible snapshot (a block whose child
 * started a later epoch; the genesis block) the validators of the state after it, recorded when
 * the chain's state passed through that block, so that any branch can be checked later without
 * replaying it. A set is stored once under the hash of its encoding and blocks point to it:
 * most snapshots equal the previous one, and a pointer is 32 bytes where a set of 100,000
 * validators is 3 MB. Recently used sets stay in memory.
 */
export class SnapshotBook {
  private readonly byBlock = new LruCache<string, ValidatorSet>(1024);
  private readonly bySetId = new LruCache<string, ValidatorSet>(16);
  /** Set ids known to be in the store (written or read by this process). */
  private readonly storedIds = new LruCache<string, true>(4096);
  /** Ids of set objects already encoded (the head state hands out one object until a stake changes). */
  private readonly ids = new WeakMap<ValidatorSet, Uint8Array>();

  constructor(private readonly store: ChainStore) {}

  /** The validators recorded for the state after a block; undefined when none are. */
  get(blockHash: string): ValidatorSet | undefined {
    const cached = this.byBlock.get(blockHash);
    if (cached) return cached;
    const id = this.store.snapshotSetId(blockHash);
    if (!id) return undefined;
    const idHex = toHex(id);
    let set = this.bySetId.get(idHex);
    if (!set) {
      const bytes = this.store.validatorSetBytes(id);
      if (!bytes)
        throw new StoreCorruptError(`validator set ${idHex} of snapshot ${blockHash} is missing`);
      set = buildValidatorSet(decodeValidators(bytes).map((v) => [v.address, v.stake] as const));
      this.ids.set(set, id);
      this.bySetId.set(idHex, set);
      this.storedIds.set(idHex, true);
    }
    this.byBlock.set(blockHash, set);
    return set;
  }

  /** Adds records to a batch: each block's set id, and each set the store does not hold yet. */
  write(batch: StoreBatch, records: ReadonlyMap<string, ValidatorSet>): void {
    const added = new Set<string>();
    for (const [blockHash, set] of records) {
      const { id, encoded } = this.identify(set);
      const idHex = toHex(id);
      batch.putSnapshot(blockHash, id);
      if (added.has(idHex) || this.storedIds.get(idHex) || this.store.validatorSetBytes(id))
        continue;
      batch.putValidatorSet(id, encoded ?? encodeValidators(set.entries));
      added.add(idHex);
    }
  }

  /** Caches records once the batch that wrote them resolved. */
  remember(records: ReadonlyMap<string, ValidatorSet>): void {
    for (const [blockHash, set] of records) {
      const idHex = toHex(this.identify(set).id);
      this.byBlock.set(blockHash, set);
      this.bySetId.set(idHex, set);
      this.storedIds.set(idHex, true);
    }
  }

  /**
   * Adds to a batch that deletes the snapshot records of `pruned` blocks the deletion of every
   * validator set left with no record: none in the store but theirs, and none among the records
   * the same batch writes (`written`). A set is stored once for all the blocks that point to it,
   * so it goes with the last of them. Scans the records only when a pruned block had one (a side
   * branch that crossed an epoch's start). Returns the ids deleted, for forget().
   */
  async dropUnreferenced(
    batch: StoreBatch,
    pruned: readonly string[],
    written: ReadonlyMap<string, ValidatorSet>,
  ): Promise<string[]> {
    const orphaned = new Set<string>();
    for (const hash of pruned) {
      const id = this.store.snapshotSetId(hash);
      if (id) orphaned.add(toHex(id));
    }
    if (orphaned.size === 0) return [];
    for (const set of written.values()) orphaned.delete(toHex(this.identify(set).id));
    if (orphaned.size === 0) return [];
    const gone = new Set(pruned);
    for (const [block, id] of await this.store.snapshotSetIds())
      if (!gone.has(block)) orphaned.delete(id);
    for (const id of orphaned) batch.deleteValidatorSet(id);
    return [...orphaned];
  }

  /** Once the batch that pruned them resolved: drops pruned blocks' records and deleted sets. */
  forget(prunedBlocks: readonly string[], deletedSets: readonly string[]): void {
    for (const hash of prunedBlocks) this.byBlock.delete(hash);
    for (const id of deletedSets) {
      this.storedIds.delete(id);
      this.bySetId.delete(id);
    }
  }

  private identify(set: ValidatorSet): { id: Uint8Array; encoded?: Uint8Array } {
    const known = this.ids.get(set);
    if (known) return { id: known };
    const encoded = encodeValidators(set.entries);
    const id = taggedHash("lotchain/validator-set/v1", encoded);
    this.ids.set(set, id);
    return { id, encoded };
  }
}

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
  /**
   * How many snapshot records point to each stored set (id hex): counted once by load(), then
   * changed by each batch once it is written, so that a set goes with its last record.
   */
  private readonly references = new Map<string, number>();
  /** What a batch not yet written changes in those counts. */
  private readonly pending = new WeakMap<StoreBatch, Map<string, number>>();

  constructor(private readonly store: ChainStore) {}

  /** Counts the records pointing to each set (one scan of the records, when the chain opens). */
  async load(): Promise<void> {
    this.references.clear();
    for (const id of (await this.store.snapshotSetIds()).values())
      this.references.set(id, (this.references.get(id) ?? 0) + 1);
  }

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

  /**
   * Adds records to a batch: each block's set id, and each set the store does not hold yet. A
   * block recorded already (a branch walked again) keeps its record: the state after a block is
   * always the same.
   */
  write(batch: StoreBatch, records: ReadonlyMap<string, ValidatorSet>): void {
    const added = new Set<string>();
    for (const [blockHash, set] of records) {
      const { id, encoded } = this.identify(set);
      const idHex = toHex(id);
      if (this.store.snapshotSetId(blockHash)) continue;
      batch.putSnapshot(blockHash, id);
      this.change(batch, idHex, +1);
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
   * Adds to a batch that deletes the snapshot records of `pruned` blocks (side branches below
   * finality) the deletion of every validator set left with no record, counting those the same
   * batch writes. A set is stored once for all the blocks that point to it, so it goes with the
   * last of them.
   */
  dropRecords(batch: StoreBatch, pruned: readonly string[]): void {
    const dropped = new Set<string>();
    for (const hash of pruned) {
      const id = this.store.snapshotSetId(hash);
      if (!id) continue;
      const idHex = toHex(id);
      this.change(batch, idHex, -1);
      dropped.add(idHex);
    }
    for (const idHex of dropped)
      if (this.countAfter(batch, idHex) <= 0) batch.deleteValidatorSet(idHex);
  }

  /** Once `batch` is written: its changes to the counts, and its pruned blocks and sets forgotten. */
  written(batch: StoreBatch, prunedBlocks: readonly string[] = []): void {
    for (const hash of prunedBlocks) this.byBlock.delete(hash);
    for (const [idHex, delta] of this.pending.get(batch) ?? []) {
      const count = (this.references.get(idHex) ?? 0) + delta;
      if (count > 0) {
        this.references.set(idHex, count);
        continue;
      }
      this.references.delete(idHex);
      this.storedIds.delete(idHex);
      this.bySetId.delete(idHex);
    }
    this.pending.delete(batch);
  }

  private change(batch: StoreBatch, idHex: string, delta: number): void {
    const changes = this.pending.get(batch) ?? new Map<string, number>();
    changes.set(idHex, (changes.get(idHex) ?? 0) + delta);
    this.pending.set(batch, changes);
  }

  private countAfter(batch: StoreBatch, idHex: string): number {
    return (this.references.get(idHex) ?? 0) + (this.pending.get(batch)?.get(idHex) ?? 0);
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

import type { Address } from "../../core/keys.js";
import type { Account } from "../../core/state.js";
import type { Transaction } from "../../core/transaction.js";
import type { HeapItem } from "./heap.js";

/** One pending transaction. */
export interface Entry {
  readonly tx: Transaction;
  /** Bytes of the signed encoding: what counts against the byte cap. */
  readonly size: number;
  /** Arrival time (ms, monotonic within the pool), for expiry. */
  readonly arrival: number;
  /** Arrival order: unique, breaks fee ties (first come, first served). */
  readonly seq: number;
  /** While in the sender's run: the sender's account after this transaction applied. */
  after: Account | undefined;
  /** While in the sender's run: the total stake after this transaction applied. */
  stakeAfter: bigint;
}

/**
 * The pending transactions of one sender, sorted by nonce. The first `runLength` entries are the
 * run: consecutive nonces from the account nonce of `base`, each applied with the core rules to
 * the state left by the ones before it (so every run entry is executable in order). The entries
 * after the run are held: their nonce is past a gap, and they were checked only against the
 * funds left after the run. At most `maxPerSender` entries, so the linear steps here are bounded
 * by a small constant.
 */
export class SenderQueue implements HeapItem {
  heapIndex = -1;
  readonly entries: Entry[] = [];
  runLength = 0;
  /** Eviction planning: how many tail entries are already chosen as victims. */
  virtualRemoved = 0;
  /** Eviction planning: entries at or below this nonce may not be chosen. */
  floorNonce = -1;

  constructor(
    readonly address: Address,
    /** The head account the run was validated against (a private copy). */
    public base: Account,
    /** The head's total stake the run was validated against. */
    public baseTotalStake: bigint,
  ) {}

  /** The next nonce after the run: what the sender should use next. */
  get pendingNonce(): number {
    return this.base.nonce + this.runLength;
  }

  /** The sender's account after the whole run. */
  get runEnd(): Account {
    return this.runLength > 0 ? this.entries[this.runLength - 1]!.after! : this.base;
  }

  get runTotalStake(): bigint {
    return this.runLength > 0 ? this.entries[this.runLength - 1]!.stakeAfter : this.baseTotalStake;
  }

  /** Index of the entry with this nonce, or -(insertion point) - 1. */
  find(nonce: number): number {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const n = this.entries[mid]!.tx.nonce;
      if (n === nonce) return mid;
      if (n < nonce) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  /** Removes the entry at `index`; the run ends before it. */
  removeAt(index: number): Entry {
    const [removed] = this.entries.splice(index, 1);
    if (index < this.runLength) this.runLength = index;
    return removed!;
  }

  /** The entry eviction would take next (the tail, past those already planned), if allowed. */
  evictionCandidate(): Entry | undefined {
    const e = this.entries[this.entries.length - 1 - this.virtualRemoved];
    return e !== undefined && e.tx.nonce > this.floorNonce ? e : undefined;
  }

  /** Whether the eviction candidate is held (past a gap) rather than executable. */
  evictionCandidateHeld(): boolean {
    return this.entries.length - 1 - this.virtualRemoved >= this.runLength;
  }
}

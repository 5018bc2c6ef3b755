import { reject } from "../core/errors.js";
import { checkEvidence, type Evidence, MAX_BLOCK_EVIDENCE } from "../core/evidence.js";
import type { Address } from "../core/keys.js";
import { applyEvidence, type LedgerParams, StateOverlay } from "../core/state.js";
import type { HeadState } from "./mempool.js";

/** Pieces of evidence held at most; a fault needs only one, so this is far more than enough. */
export const MAX_POOLED_EVIDENCE = 256;

/**
 * Slashing evidence waiting for a block: found by this node's chain (two stored blocks of one
 * forger for one slot) or received from peers. One piece per fault (offender and slot): two
 * pairs of the same three blocks punish the same fault, and only the first would apply.
 *
 * Admission checks everything a block would: the signatures (checkEvidence) and that it applies
 * to the head state now (core applyEvidence on a throwaway overlay: not already punished, not too
 * old, something to take). What stops applying (the fault was punished by a block, the evidence
 * aged out) leaves at the next `prune`.
 */
export class EvidencePool {
  private readonly byFault = new Map<string, Evidence>();
  private readonly ids = new Set<string>();

  constructor(
    private readonly options: {
      params: LedgerParams;
      chainId: string;
      /** The head state as the next block sees it (the mempool's view). */
      state: () => HeadState;
    },
  ) {}

  get size(): number {
    return this.byFault.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /**
   * Admits a piece of evidence, or throws ValidationError: DuplicateEvidence when its fault is
   * pooled already, MempoolFull when the pool is, or the code of the rule it breaks.
   */
  add(evidence: Evidence): void {
    const fault = faultKey(evidence.offender, evidence.slot);
    if (this.byFault.has(fault))
      reject("DuplicateEvidence", `evidence of ${evidence.offender}'s fault is pending already`);
    if (this.byFault.size >= MAX_POOLED_EVIDENCE)
      reject("MempoolFull", `${MAX_POOLED_EVIDENCE} pieces of evidence are pending already`);
    checkEvidence(evidence, this.options.chainId);
    this.checkApplies(evidence);
    this.byFault.set(fault, evidence);
    this.ids.add(evidence.id);
  }

  /** Pending evidence for the next block, oldest fault first, at most a block's worth. */
  candidates(): Evidence[] {
    return [...this.byFault.values()]
      .sort((a, b) => a.slot - b.slot)
      .slice(0, MAX_BLOCK_EVIDENCE * 2);
  }

  all(): Evidence[] {
    return [...this.byFault.values()];
  }

  /** Drops what no longer applies to the head (punished by a block, too old). Returns their ids. */
  prune(): string[] {
    const dropped: string[] = [];
    for (const [fault, evidence] of this.byFault) {
      try {
        this.checkApplies(evidence);
      } catch {
        this.byFault.delete(fault);
        this.ids.delete(evidence.id);
        dropped.push(evidence.id);
      }
    }
    return dropped;
  }

  private checkApplies(evidence: Evidence): void {
    const head = this.options.state();
    const overlay = new StateOverlay(head.reader, head.totalStake, head.supply, head.slot);
    // The reporter does not change whether evidence applies; the offender itself is a neutral one.
    applyEvidence(overlay, evidence, evidence.offender, this.options.params);
  }
}

function faultKey(offender: Address, slot: number): string {
  return `${offender}/${slot}`;
}

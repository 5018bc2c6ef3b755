import { toHex } from "../core/bytes.js";
import { reject } from "../core/errors.js";
import type { ChainStore } from "../store/store.js";

export interface Tip {
  /** Cumulative score from engine.score. */
  score: bigint;
  /** Block hash, lowercase hex. */
  hashHex: string;
  /** PoS: the tip block's slot (engine.productionSlot); undefined under PoW or when unknown. */
  slot?: number | undefined;
}

/**
 * The fork-choice rule: the higher cumulative score wins (PoS: the longer chain; PoW: the chain
 * with more work). On equal scores the tip of the earlier slot wins (PoS), then the lower block
 * hash (compared as hex, i.e. as a big-endian number). The slot comes first so that the winner of
 * a later slot, building beside an honest block instead of on it, cannot orphan it by grinding
 * its own hash. Both tie-breaks depend only on the blocks; the chain adds one rule that depends on
 * arrival: a block that arrived after its slot (engine.arrivedLate) never displaces an equal head.
 */
export function isBetter(candidate: Tip, current: Tip): boolean {
  if (candidate.score !== current.score) return candidate.score > current.score;
  if (candidate.slot !== undefined && current.slot !== undefined && candidate.slot !== current.slot)
    return candidate.slot < current.slot;
  return candidate.hashHex < current.hashHex;
}

export interface ForkPoint {
  /** The last block the branch shares with the main chain. */
  fork: { hash: string; height: number };
  /** Stored branch blocks above the fork, in height order, ending with `from`. */
  branch: string[];
}

/**
 * Walks down from a stored block to the main chain. Rejects with BelowFinality when the branch
 * leaves the main chain below the finalized height (joining it would reorganise final blocks),
 * and with KnownInvalid when an ancestor is known to be invalid.
 */
export function findFork(store: ChainStore, from: string, finalizedHeight: number): ForkPoint {
  const branch: string[] = [];
  let hash = from;
  for (;;) {
    const info = store.blockInfo(hash);
    if (!info) throw new Error(`block ${hash} has no stored info`);
    if (store.mainHash(info.height) === hash) {
      if (info.height < finalizedHeight)
        reject(
          "BelowFinality",
          `branch leaves the main chain at height ${info.height}, below the finalized height ${finalizedHeight}`,
        );
      return { fork: { hash, height: info.height }, branch: branch.reverse() };
    }
    if (info.validity === "invalid") reject("KnownInvalid", `ancestor ${hash} is invalid`);
    // A side block at or below the finalized height can only meet the main chain below it.
    if (info.height <= finalizedHeight)
      reject(
        "BelowFinality",
        `branch reaches height ${info.height} without meeting the main chain above the finalized height ${finalizedHeight}`,
      );
    branch.push(hash);
    hash = toHex(info.parentHash);
  }
}

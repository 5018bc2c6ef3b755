import type { Address } from "../core/keys.js";
import type { Account } from "../core/state.js";
import type { ValidatorSet } from "./engine.js";

/**
 * The validators of a state, as the lottery reads them: every address with stake > 0, sorted by
 * address (plain string order, the same on every node), each holding as many "lots" as its stake,
 * with running totals so that lot number p belongs to the first validator whose cumulative sum
 * exceeds p. Accepts accounts or bare stakes.
 */
export function buildValidatorSet(
  stakes: Iterable<readonly [Address, Account | bigint]>,
): ValidatorSet {
  const entries: { address: Address; stake: bigint }[] = [];
  for (const [address, value] of stakes) {
    const stake = typeof value === "bigint" ? value : value.stake;
    if (stake > 0n) entries.push({ address, stake });
  }
  entries.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const cumulative: bigint[] = new Array(entries.length);
  let total = 0n;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    // A repeated address would hold two ranges of lots: the caller passed two states mixed.
    if (i > 0 && entries[i - 1]!.address === entry.address)
      throw new Error(`validator ${entry.address} appears twice`);
    total += entry.stake;
    cumulative[i] = total;
  }
  return { entries, cumulative, total };
}

import { describe, expect, it } from "vitest";
import { selectForger } from "../../src/consensus/pos/lottery.js";
import { signRandomness, slotSeed } from "../../src/consensus/pos/randomness.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { genesisBlock } from "../../src/core/genesis.js";
import type { KeyPair } from "../../src/core/keys.js";
import { testKey } from "../helpers/ledger.js";
import { posGenesis } from "./helpers.js";

/**
 * Fairness: a validator's share of slots must match its share of stake. 10,000 slots of a real
 * chain are played out — each slot's winner signs the randomness the next slot's seed comes from,
 * starting from the genesis randomness — and Pearson's chi-squared statistic of the win counts is
 * compared with the critical value at significance 0.001 (scipy.stats.chi2.ppf(0.999, df)).
 * The seeds are fixed (the test genesis and keys), so the result is deterministic; they were
 * chosen before the first run and never tuned.
 */
const SLOTS = 10_000;
const CRITICAL_0_001 = new Map([
  [1, 10.828],
  [49, 85.351],
]);

function playSlots(stakes: [KeyPair, bigint][], chainId: string): Map<string, number> {
  const genesis = posGenesis(stakes, { chainId });
  const validators = buildValidatorSet(genesis.validators);
  const keys = new Map(stakes.map(([key]) => [key.address, key]));
  const wins = new Map(stakes.map(([key]) => [key.address, 0]));
  const seal = genesisBlock(genesis).header.seal;
  if (seal.type !== "pos") throw new Error("not a PoS genesis");
  let randomness = seal.randomness;
  for (let slot = 1; slot <= SLOTS; slot++) {
    const winner = selectForger(validators, slotSeed(randomness, slot));
    wins.set(winner, wins.get(winner)! + 1);
    randomness = signRandomness(chainId, slot, randomness, keys.get(winner)!.privateKey);
  }
  return wins;
}

function chiSquared(stakes: [KeyPair, bigint][], wins: Map<string, number>): number {
  const total = stakes.reduce((sum, [, stake]) => sum + stake, 0n);
  let statistic = 0;
  for (const [key, stake] of stakes) {
    const expected = (SLOTS * Number(stake)) / Number(total);
    statistic += (wins.get(key.address)! - expected) ** 2 / expected;
  }
  return statistic;
}

describe("lottery fairness over 10,000 slots (chi-squared, significance 0.001)", () => {
  it("two validators with 100 and 100 (the seed's Test.py)", () => {
    const stakes: [KeyPair, bigint][] = [
      [testKey(1), 100n],
      [testKey(2), 100n],
    ];
    const wins = playSlots(stakes, "lotchain-fairness-a");
    expect(chiSquared(stakes, wins)).toBeLessThan(CRITICAL_0_001.get(1)!);
  });

  it("two validators with 1 and 25 (the seed's story)", () => {
    const stakes: [KeyPair, bigint][] = [
      [testKey(1), 1n],
      [testKey(2), 25n],
    ];
    const wins = playSlots(stakes, "lotchain-fairness-b");
    expect(wins.get(testKey(1).address)).toBeGreaterThan(0);
    expect(chiSquared(stakes, wins)).toBeLessThan(CRITICAL_0_001.get(1)!);
  });

  it("50 validators with stakes from 50 to 1000", () => {
    const stakes: [KeyPair, bigint][] = Array.from({ length: 50 }, (_, i) => [
      testKey(i + 1),
      BigInt(50 + ((i * 7919) % 951)),
    ]);
    const wins = playSlots(stakes, "lotchain-fairness-c");
    expect(chiSquared(stakes, wins)).toBeLessThan(CRITICAL_0_001.get(49)!);
  });
});

import { describe, expect, it } from "vitest";
import type { LinkedHeader } from "../../src/consensus/engine.js";
import {
  childEpochLink,
  epochContextOf,
  genesisEpochLink,
} from "../../src/consensus/pos/epochs.js";
import { slotWinner } from "../../src/consensus/pos/lottery.js";
import { proveRandomness, randomnessOutput } from "../../src/consensus/pos/randomness.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { type BlockHeader, hashHeader } from "../../src/core/block.js";
import { genesisBlock, POS_DEFAULTS } from "../../src/core/genesis.js";
import { type KeyPair, privateKeySeed } from "../../src/core/keys.js";
import { vrfSecretKey } from "../../src/core/vrf.js";
import { testKey } from "../helpers/ledger.js";
import { posGenesis } from "./helpers.js";

/** The epoch length of the test genesis files (the default). */
const EPOCH_SLOTS = POS_DEFAULTS.epochSlots;

/**
 * Fairness: a validator's share of slots must match its share of stake. 10,000 slots of a real
 * chain are played out with the protocol's epochs: each slot's winner is drawn from its epoch's
 * nonce; the winner of each epoch's first won slot forges a block whose VRF output (a real
 * proof by its key) folds into the nonce of the next epoch, as on a quiet chain with one block
 * an epoch. Pearson's chi-squared statistic of the slot wins is compared with the critical value
 * at significance 0.001 (scipy.stats.chi2.ppf(0.999, df)). The seeds are fixed (the test genesis
 * and keys), so the result is deterministic; they were chosen before the first run and never
 * tuned.
 */
const SLOTS = 10_000;
const CRITICAL_0_001 = new Map([
  [1, 10.828],
  [49, 85.351],
]);

function playSlots(stakes: [KeyPair, bigint][], chainId: string): Map<string, number> {
  const genesis = posGenesis(stakes, { chainId });
  const validators = buildValidatorSet(genesis.validators);
  const keys = new Map(
    stakes.map(([key]) => [key.address, vrfSecretKey(privateKeySeed(key.privateKey))]),
  );
  const wins = new Map(stakes.map(([key]) => [key.address, 0]));
  const g = genesisBlock(genesis);
  let head: LinkedHeader = { header: g.header, hash: g.hash, link: genesisEpochLink(g) };
  let forgedEpoch = 0;
  for (let slot = 1; slot <= SLOTS; slot++) {
    const epoch = epochContextOf(head, slot, EPOCH_SLOTS);
    const winner = slotWinner(validators, epoch.nonce, slot);
    wins.set(winner, wins.get(winner)! + 1);
    if (epoch.epoch === forgedEpoch) continue;
    // The epoch's first block: only its VRF output matters for the draws (the stakes never move).
    const randomness = proveRandomness(chainId, slot, epoch.nonce, keys.get(winner)!);
    const header: BlockHeader = {
      ...g.header,
      height: head.header.height + 1,
      previousHash: head.hash,
      seal: { type: "pos", slot, vrfProof: randomness },
    };
    head = {
      header,
      hash: hashHeader(header),
      link: childEpochLink(epoch, randomnessOutput(randomness)!),
    };
    forgedEpoch = epoch.epoch;
  }
  expect(head.header.height).toBe(Math.ceil(SLOTS / EPOCH_SLOTS));
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

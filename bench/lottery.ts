import { type LotteryCounter, selectForger } from "../src/consensus/pos/lottery.js";
import { slotSeed } from "../src/consensus/pos/randomness.js";
import { buildValidatorSet } from "../src/consensus/validators.js";
import { taggedHash } from "../src/core/hash.js";
import { encodeAddress } from "../src/core/keys.js";
import { median, rate, round } from "./raw.js";

/**
 * The lot lottery's cost per slot with 10, 1,000 and 100,000 validators, and the cost of building
 * the validator set (once per stake change, not per slot). The raw limit beside it: the tagged
 * SHA-256 one draw hashes. A slot is two such hashes (slot seed, draw) plus a binary search, so
 * its cost should stay near half the raw rate however many validators there are.
 */
const SIZES = [10, 1_000, 100_000];

function stakes(n: number): Map<string, bigint> {
  const account = new Uint8Array(20);
  const view = new DataView(account.buffer);
  const out = new Map<string, bigint>();
  for (let i = 0; i < n; i++) {
    view.setUint32(0, Math.imul(i, 2654435761));
    view.setUint32(16, i);
    out.set(encodeAddress(account), BigInt(1 + ((i * 7919) % 100_000)));
  }
  return out;
}

export async function run(): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  const seed = new Uint8Array(32).fill(5);
  const counterBytes = new Uint8Array(4);
  const rawDraw = () => taggedHash("lotchain/lottery-draw/v1", seed, counterBytes);
  const allRaws: number[] = [];
  const parentRandomness = new Uint8Array(64).fill(3);
  for (const n of SIZES) {
    const input = stakes(n);
    const builds: number[] = [];
    for (let r = 0; r < 5; r++) {
      const start = performance.now();
      buildValidatorSet(input);
      builds.push(performance.now() - start);
    }
    const validators = buildValidatorSet(input);
    let slot = 1;
    const drawSlot = () => selectForger(validators, slotSeed(parentRandomness, slot++));
    // Rounds alternate with the raw measurement, so the shared machine's noise hits both alike;
    // the ratio is the median of the per-round ratios.
    const slotRates: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < 7; r++) {
      const raw = rate(200, rawDraw);
      const slots = rate(200, drawSlot);
      allRaws.push(raw);
      slotRates.push(slots);
      ratios.push(slots / raw);
    }
    const counter: LotteryCounter = { draws: 0, comparisons: 0 };
    for (let s = 0; s < 1000; s++) selectForger(validators, slotSeed(parentRandomness, s), counter);
    const slotsPerSec = median(slotRates);
    figures[`lottery.slotsPerSec.${n}`] = round(slotsPerSec);
    figures[`lottery.usPerSlot.${n}`] = round(1e6 / slotsPerSec, 2);
    figures[`lottery.comparisonsPerSlot.${n}`] = round(counter.comparisons / 1000, 2);
    figures[`lottery.buildSetMs.${n}`] = round(median(builds), 2);
    figures[`lottery.ratioToRaw.${n}`] = round(median(ratios), 3);
  }
  figures["lottery.rawDrawHashPerSec"] = round(median(allRaws));
  // Cost growth from 10 to 100,000 validators (10,000 times more), noise-corrected through the
  // ratios: logarithmic, not linear.
  figures["lottery.costGrowth10To100k"] = round(
    figures["lottery.ratioToRaw.10"]! / figures["lottery.ratioToRaw.100000"]!,
    2,
  );
  return figures;
}

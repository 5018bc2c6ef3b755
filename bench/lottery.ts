import { type LotteryCounter, selectForger } from "../src/consensus/pos/lottery.js";
import { slotSeed } from "../src/consensus/pos/randomness.js";
import { buildValidatorSet } from "../src/consensus/validators.js";
import { taggedHash } from "../src/core/hash.js";
import { encodeAddress } from "../src/core/keys.js";
import { median, rate, round } from "./raw.js";

/**
 * The lot lottery's cost per slot with 10, 1,000 and 100,000 validators, and the cost of building
 * the validator set (once per stake change, not per slot). The raw limit beside it: the two
 * tagged SHA-256 hashes a slot needs (its seed from the epoch nonce, then one 256-bit draw),
 * timed alone in the same rounds. A slot is those two hashes plus a binary search over the
 * validators, so its ratio to the raw limit stays near 1 and falls only logarithmically with the
 * number of validators (the comparisons per slot are counted beside it).
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
  const epochNonce = new Uint8Array(32).fill(3);
  const counterBytes = new Uint8Array(4);
  const slotBytes = new Uint8Array(8);
  const rawTwoHashes = () => {
    const slotSeedHash = taggedHash("lotchain/slot-seed/v1", epochNonce, slotBytes);
    return taggedHash("lotchain/lottery-draw/v1", slotSeedHash, counterBytes);
  };
  const allRaws: number[] = [];
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
    const drawSlot = () => selectForger(validators, slotSeed(epochNonce, slot++));
    // Rounds alternate with the raw measurement, so the shared machine's noise hits both alike;
    // the ratio is the median of the per-round ratios.
    const slotRates: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < 7; r++) {
      const raw = rate(200, rawTwoHashes);
      const slots = rate(200, drawSlot);
      allRaws.push(raw);
      slotRates.push(slots);
      ratios.push(slots / raw);
    }
    const counter: LotteryCounter = { draws: 0, comparisons: 0 };
    for (let s = 0; s < 1000; s++) selectForger(validators, slotSeed(epochNonce, s), counter);
    const slotsPerSec = median(slotRates);
    figures[`lottery.slotsPerSec.${n}`] = round(slotsPerSec);
    figures[`lottery.usPerSlot.${n}`] = round(1e6 / slotsPerSec, 2);
    figures[`lottery.comparisonsPerSlot.${n}`] = round(counter.comparisons / 1000, 2);
    figures[`lottery.buildSetMs.${n}`] = round(median(builds), 2);
    figures[`lottery.ratioToRaw.${n}`] = round(median(ratios), 3);
  }
  figures["lottery.rawTwoHashesPerSec"] = round(median(allRaws));
  figures["lottery.rawTwoHashesMicros"] = round(1e6 / median(allRaws), 2);
  // Cost growth from 10 to 100,000 validators (10,000 times more), noise-corrected through the
  // ratios: logarithmic, not linear.
  figures["lottery.costGrowth10To100k"] = round(
    figures["lottery.ratioToRaw.10"]! / figures["lottery.ratioToRaw.100000"]!,
    2,
  );
  return figures;
}

import { taggedHash } from "../../core/hash.js";
import type { Address } from "../../core/keys.js";
import type { ValidatorSet } from "../engine.js";
import { slotSeed } from "./randomness.js";

/**
 * The "lot" lottery. As in the Python seed, every validator holds one lot per unit of stake;
 * lots are numbered 0 .. total-1 in validator (address) order. A slot's seed draws one winning
 * lot number, exactly uniformly, and its holder forges the slot: a validator's chance is its
 * stake / total, exactly, in integer arithmetic, and every node computes the same winner.
 */

/** Operations one draw costs, for tests and benchmarks that check the lottery's complexity. */
export interface LotteryCounter {
  /** 256-bit words drawn from the seed (almost always 1; more only after a rejection). */
  draws: number;
  /** Comparisons of the winning lot number with cumulative stakes. */
  comparisons: number;
}

const DRAW_BITS = 256;

/**
 * A number in [0, bound) from uniform `bits`-bit words, with no modulo bias: words at or above
 * the largest multiple of `bound` that fits in `bits` bits are rejected and the next word drawn,
 * so every residue is hit by exactly the same number of accepted words. With 256-bit words and a
 * bound below 2^64 a rejection happens with probability under 2^-192.
 */
export function uniformBelow(
  bound: bigint,
  word: (counter: number) => bigint,
  bits: number = DRAW_BITS,
  counter?: LotteryCounter,
): bigint {
  if (bound <= 0n) throw new RangeError("the bound must be positive");
  const range = 1n << BigInt(bits);
  if (bound > range) throw new RangeError(`the bound does not fit in ${bits} bits`);
  const limit = range - (range % bound);
  for (let n = 0; ; n++) {
    const x = word(n);
    if (counter) counter.draws++;
    if (x < limit) return x % bound;
  }
}

/** The n-th 256-bit word of a seed: tagged hash of the seed and a 4-byte big-endian counter. */
export function drawWord(seed: Uint8Array, n: number): bigint {
  const counter = new Uint8Array(4);
  new DataView(counter.buffer).setUint32(0, n);
  const digest = taggedHash("lotchain/lottery-draw/v1", seed, counter);
  // The digest read as a big-endian number, 64 bits at a time (no hex round trip).
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  return (
    (view.getBigUint64(0) << 192n) |
    (view.getBigUint64(8) << 128n) |
    (view.getBigUint64(16) << 64n) |
    view.getBigUint64(24)
  );
}

/** The winning lot number of a seed, in [0, total). */
export function drawLot(seed: Uint8Array, total: bigint, counter?: LotteryCounter): bigint {
  return uniformBelow(total, (n) => drawWord(seed, n), DRAW_BITS, counter);
}

/**
 * Index of the validator holding lot `lot`: the first i with cumulative[i] > lot. Binary search,
 * so a slot costs about log2(validators) comparisons.
 */
export function lotHolderIndex(
  cumulative: readonly bigint[],
  lot: bigint,
  counter?: LotteryCounter,
): number {
  let low = 0;
  let high = cumulative.length - 1;
  if (high < 0 || lot >= cumulative[high]!) throw new RangeError("lot number out of range");
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (counter) counter.comparisons++;
    if (cumulative[mid]! > lot) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The forger a seed picks among the validators. Throws when there is no stake at all. */
export function selectForger(
  validators: ValidatorSet,
  seed: Uint8Array,
  counter?: LotteryCounter,
): Address {
  if (validators.total <= 0n) throw new RangeError("the lottery needs validators with stake");
  const lot = drawLot(seed, validators.total, counter);
  return validators.entries[lotHolderIndex(validators.cumulative, lot, counter)]!.address;
}

/**
 * The winner of `slot`: the lottery over the validators of its epoch's snapshot, seeded by the
 * epoch nonce and the slot. What the engine checks and the forger draws.
 */
export function slotWinner(
  validators: ValidatorSet,
  epochNonce: Uint8Array,
  slot: number,
): Address {
  return selectForger(validators, slotSeed(epochNonce, slot));
}

import { bytesToBigInt } from "../../core/bytes.js";

/** The largest 256-bit number: a target every hash meets. */
export const MAX_TARGET = (1n << 256n) - 1n;

/**
 * Expected number of hashes to find a header hash at most `target`: 2^256 / (target + 1), the
 * fork-choice weight of a block (as in Bitcoin). Always at least 1.
 */
export function workOfTarget(target: bigint): bigint {
  if (target < 0n || target > MAX_TARGET) throw new RangeError("target out of range");
  return (1n << 256n) / (target + 1n);
}

/** A header hash read as a big-endian 256-bit number meets the target when it is at most it. */
export function hashMeetsTarget(hash: Uint8Array, target: bigint): boolean {
  return bytesToBigInt(hash) <= target;
}

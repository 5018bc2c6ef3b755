import type { BlockHeader } from "../../core/block.js";
import type { PowConfig } from "../../core/genesis.js";

/**
 * The retarget rule: an exponential moving average over solve times (WTEMA), applied every block.
 *
 *   solveTime = parent.timestamp - grandparent.timestamp, clamped to [0, (N + 1) * T]
 *   next      = parentTarget * (N*T + solveTime - T) / (N*T)      (integer division)
 *   next      = min(max(next, 1), genesis initialTarget)
 *
 * with T = targetBlockMs and N = RETARGET_SMOOTHING_BLOCKS. A block solved in exactly T keeps the
 * target; faster makes it smaller (harder), slower larger (easier). The step per block is bounded:
 * at least (N - 1) / N (a block solved instantly tightens by 1/N) and at most 2 (the clamp on
 * solve time), so a burst of lucky blocks cannot shoot the difficulty up, while a node whose hash
 * rate collapses (a loaded, shared machine) eases back fast. The target never exceeds the genesis
 * initialTarget, so the easiest a chain gets is what its genesis chose. Blocks 1 and 2 use the
 * initialTarget: a solve time needs two mined blocks (the genesis timestamp is not a mining time).
 *
 * It needs only the parent and the grandparent: no long window to load, and the average over the
 * last ~N blocks is still what it follows (an EMA with smoothing N is about as stable as a
 * simple moving average over 2N blocks, and does not oscillate as window rules applied to the
 * parent's target do).
 */
export const RETARGET_SMOOTHING_BLOCKS = 8n;

/** The largest factor by which one block may ease the target. */
export const MAX_RETARGET_EASING = 2n;

export function nextTarget(
  parent: BlockHeader,
  grandparent: BlockHeader | undefined,
  config: PowConfig,
): bigint {
  if (parent.height < 2 || parent.seal.type !== "pow") return config.initialTarget;
  if (!grandparent) throw new Error("the retarget rule needs the grandparent header");
  const T = BigInt(config.targetBlockMs);
  const N = RETARGET_SMOOTHING_BLOCKS;
  const longest = (N * (MAX_RETARGET_EASING - 1n) + 1n) * T;
  let solveTime = BigInt(parent.timestamp - grandparent.timestamp);
  if (solveTime < 0n) solveTime = 0n;
  if (solveTime > longest) solveTime = longest;
  const next = (parent.seal.target * (N * T + solveTime - T)) / (N * T);
  if (next < 1n) return 1n;
  return next > config.initialTarget ? config.initialTarget : next;
}

import type { Genesis } from "../core/genesis.js";
import type { Engine } from "./engine.js";
import { PosEngine } from "./pos/engine.js";
import { PowEngine } from "./pow/engine.js";

/** The consensus engine a genesis file names. */
export function createEngine(genesis: Genesis): Engine {
  return genesis.consensus.type === "pos" ? new PosEngine(genesis) : new PowEngine(genesis);
}

export { transactionsThatFit } from "./block-space.js";
export type * from "./engine.js";
export { PosEngine, slotWinner } from "./pos/engine.js";
export {
  accumulate,
  childEpochLink,
  EMPTY_ACCUMULATOR,
  epochContextOf,
  epochOf,
  epochStartSlot,
  genesisEpochLink,
  nextEpochNonce,
  sameEpochLink,
} from "./pos/epochs.js";
export { PosForger } from "./pos/forger.js";
export {
  drawLot,
  type LotteryCounter,
  lotHolderIndex,
  selectForger,
  uniformBelow,
} from "./pos/lottery.js";
export {
  proveRandomness,
  RANDOMNESS_BYTES,
  randomnessOutput,
  slotSeed,
  verifyRandomness,
  vrfInput,
} from "./pos/randomness.js";
export {
  POS_CLOCK_DRIFT_MS,
  posClockDriftMs,
  type SlotClock,
  slotClock,
  slotOf,
  slotStart,
} from "./pos/slots.js";
export { POW_CLOCK_DRIFT_MS } from "./pow/clock.js";
export { expectedTarget, POW_FINALITY_DEPTH, PowEngine } from "./pow/engine.js";
export { PowMiner, spawnMinerWorker, templateRefreshMs } from "./pow/miner.js";
export { MAX_RETARGET_EASING, nextTarget, RETARGET_SMOOTHING_BLOCKS } from "./pow/retarget.js";
export { hashMeetsTarget, MAX_TARGET, workOfTarget } from "./pow/target.js";
export { buildValidatorSet } from "./validators.js";

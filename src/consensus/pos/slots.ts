import type { PosConfig } from "../../core/genesis.js";

/**
 * How far a block's slot may start after the verifying node's clock: honest forgers seal at the
 * start of their slot, so this only absorbs clock differences between nodes (NTP keeps them
 * well under it) and must stay small beside slotMs, or a forger could claim its next slot early.
 * The drift of a network is this or half a slot, whichever is less (posClockDriftMs).
 */
export const POS_CLOCK_DRIFT_MS = 500;

/**
 * The clock drift of a network with slots of `slotMs`: at most half a slot, so that a block for
 * a slot that has not begun is refused however short the slots (SPEC section 5).
 */
export function posClockDriftMs(slotMs: number): number {
  return Math.min(POS_CLOCK_DRIFT_MS, Math.floor(slotMs / 2));
}

/** The slot timing of a network: slot 0 starts at the genesis timestamp. */
export interface SlotClock {
  genesisTimestamp: number;
  slotMs: number;
}

export function slotClock(genesisTimestamp: number, config: PosConfig): SlotClock {
  return { genesisTimestamp, slotMs: config.slotMs };
}

/** The slot a time falls in: floor((t - genesis) / slotMs), exact (negative before genesis). */
export function slotOf(clock: SlotClock, time: number): number {
  const elapsed = time - clock.genesisTimestamp;
  // The remainder operator is exact on integers, so no float division rounds a boundary.
  const rest = ((elapsed % clock.slotMs) + clock.slotMs) % clock.slotMs;
  return (elapsed - rest) / clock.slotMs;
}

/** The start time of a slot, or undefined when it is not a safe integer of milliseconds. */
export function slotStart(clock: SlotClock, slot: number): number | undefined {
  const start = BigInt(clock.genesisTimestamp) + BigInt(slot) * BigInt(clock.slotMs);
  return start <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(start) : undefined;
}

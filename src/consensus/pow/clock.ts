/**
 * How far ahead of the verifying node's clock a PoW block's timestamp may be. Honest miners stamp
 * templates with their own clock, so this absorbs clock differences between machines; it also
 * bounds how much a miner can ease the next target by stamping its block in the future (the
 * retarget clamps a solve time anyway, and later blocks must still be stamped after it).
 */
export const POW_CLOCK_DRIFT_MS = 15_000;

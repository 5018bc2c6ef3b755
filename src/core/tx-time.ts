import { reject } from "./errors.js";

/**
 * A transaction's timestamp says when it was signed. It protects nothing (the nonce does), but a
 * value no clock could have written (0, 2^53 − 1, a century ahead) is junk that explorers and
 * wallets would show and sort by. So a transaction is admitted only with a timestamp inside a
 * window around a reference time: the node's clock when a node admits it (API, gossip, its own
 * journal at start), the block's timestamp when a block carries it.
 *
 * The block window is wider than the admission window by the time a transaction may wait in a
 * mempool (an hour at most, see MempoolLimits.maxAgeMs) plus slack for slots and clock drift, so
 * that every transaction a node admitted can still be included by any honest forger.
 */
export interface TimeWindow {
  /** How far before the reference a timestamp may be. */
  pastMs: number;
  /** How far after the reference a timestamp may be. */
  futureMs: number;
}

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;

/** Admission by a node, around its clock: signed at most a day ago, or ten minutes ahead. */
export const ADMISSION_WINDOW: Readonly<TimeWindow> = Object.freeze({
  pastMs: 24 * HOUR,
  futureMs: 10 * MINUTE,
});

/** Inclusion in a block, around the block's timestamp (the rule docs/consensus.md states). */
export const BLOCK_WINDOW: Readonly<TimeWindow> = Object.freeze({
  pastMs: 48 * HOUR,
  futureMs: HOUR,
});

/** Throws TimestampTooOld or TimestampTooNew unless `timestamp` is in `window` around `reference`. */
export function checkTimestamp(timestamp: number, reference: number, window: TimeWindow): void {
  if (timestamp < reference - window.pastMs)
    reject(
      "TimestampTooOld",
      `timestamp ${timestamp} is more than ${window.pastMs / MINUTE} minutes before ${reference}`,
    );
  if (timestamp > reference + window.futureMs)
    reject(
      "TimestampTooNew",
      `timestamp ${timestamp} is more than ${window.futureMs / MINUTE} minutes after ${reference}`,
    );
}

import { isValidationError, type RejectCode, ValidationError } from "../core/errors.js";
import type { Transaction } from "../core/transaction.js";

/** What admission needs: the mempool's cheap checks, the signature pool, and the add itself. */
export interface AdmissionSteps {
  /** Every check but the signature (timestamp window, the mempool's rules); throws ValidationError. */
  check(tx: Transaction): void;
  /** Whether each signature verifies (the worker pool, through the signature cache). */
  verifyAll(txs: readonly Transaction[]): Promise<boolean[]>;
  /** Adds a transaction whose signature verified; throws ValidationError. */
  add(tx: Transaction): void;
}

/**
 * Cheap-check failures that no earlier transaction of the same batch can change: what is wrong
 * with the transaction itself, a copy of what is pending or included, and the limits that earlier
 * transactions only bring closer (a full pool, the supply cap). The others (a nonce past the gap,
 * funds or stake short, a sender's limit) may pass once the sender's earlier transactions of the
 * batch are in.
 */
const SETTLED = new Set<RejectCode>([
  "Malformed",
  "MalformedAddress",
  "MalformedAmount",
  "MalformedKey",
  "TooLarge",
  "InvalidSignature",
  "WrongChain",
  "IdMismatch",
  "BadAmount",
  "FeeTooLow",
  "ReceiverMustBeSender",
  "NotExchangeAuthority",
  "TimestampTooOld",
  "TimestampTooNew",
  "Duplicate",
  "AlreadyIncluded",
  "NonceTooLow",
  "MempoolFull",
  "SupplyCapExceeded",
]);

/**
 * Admits a batch of transactions, each judged exactly as if they came one after another in
 * input order (as single POSTs would), with their signatures verified together:
 * 1. the cheap checks of each against the pool as it was (spam costs no verification); a failure
 *    an earlier transaction of the batch cannot change is its answer;
 * 2. the signatures of the rest, all at once in the worker pool;
 * 3. in input order, the add (which checks everything again, against the pool with the earlier
 *    ones in, and finds the signature verified); a forged signature is reported only if the
 *    cheap checks pass at that point, since a single POST checks them first.
 * Resolves with the error of each (undefined: admitted).
 */
export async function admitBatch(
  txs: readonly Transaction[],
  steps: AdmissionSteps,
): Promise<(ValidationError | undefined)[]> {
  const errors = new Array<ValidationError | undefined>(txs.length).fill(undefined);
  const candidates: number[] = [];
  const senders = new Set<string>();
  for (let i = 0; i < txs.length; i++) {
    const tx = txs[i]!;
    try {
      steps.check(tx);
      candidates.push(i);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      if (!SETTLED.has(e.code) && senders.has(tx.sender)) candidates.push(i);
      else errors[i] = e;
    }
    senders.add(tx.sender);
  }
  const verified = await steps.verifyAll(candidates.map((i) => txs[i]!));
  for (let k = 0; k < candidates.length; k++) {
    const i = candidates[k]!;
    const tx = txs[i]!;
    try {
      if (verified[k]) steps.add(tx);
      else {
        steps.check(tx);
        errors[i] = new ValidationError("InvalidSignature", "signature does not verify");
      }
    } catch (e) {
      if (!isValidationError(e)) throw e;
      errors[i] = e;
    }
  }
  return errors;
}

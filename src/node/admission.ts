import {
  isValidationError,
  type RejectCode,
  STATELESS_TX_REJECTIONS,
  ValidationError,
} from "../core/errors.js";
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
  ...STATELESS_TX_REJECTIONS,
  "TimestampTooOld",
  "TimestampTooNew",
  "Duplicate",
  "AlreadyIncluded",
  "NonceTooLow",
  "MempoolFull",
  "SupplyCapExceeded",
]);

/**
 * Admission of transactions (API and gossip), each judged exactly as if every transaction came
 * alone, one after another in arrival order (as single POSTs did when admission verified on the
 * event loop), with their signatures verified together in the worker pool. A call (a batch, a
 * gossip message's slice, a single POST) goes:
 * 1. the cheap checks of each against the pool as it is (spam costs no verification); a failure
 *    that no transaction before it can change is its answer, and so is any failure when no
 *    transaction of its sender comes before it (in this call, or in a call still under way);
 * 2. the signatures of the rest, all at once in the worker pool (calls overlap here, so the
 *    pool's batches grow with the load);
 * 3. once every earlier call has finished its adds, the adds in input order (each checks
 *    everything again, against the pool with the earlier ones in, and finds the signature
 *    verified); a forged signature is reported only if the cheap checks pass at that point, since
 *    a single POST checks them first.
 * Calls overlap in their signatures and take turns in their adds: a transaction that depends on
 * one sent just before it (a nonce, a STAKE before its UNSTAKE) is judged after it, whichever
 * call, message or request each came in.
 */
export class Admission {
  /** Senders with transactions in calls whose adds are not done, and how many such calls. */
  readonly #inFlight = new Map<string, number>();
  /** Settles when the adds of the latest call are done. */
  #turn: Promise<void> = Promise.resolve();

  /** Resolves with the error of each transaction (undefined: admitted), in input order. */
  async admit(
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
        const before = senders.has(tx.sender) || this.#inFlight.has(tx.sender);
        if (!SETTLED.has(e.code) && before) candidates.push(i);
        else errors[i] = e;
      }
      senders.add(tx.sender);
    }
    for (const sender of senders) this.#inFlight.set(sender, (this.#inFlight.get(sender) ?? 0) + 1);
    const previous = this.#turn;
    let done!: () => void;
    this.#turn = new Promise((resolve) => {
      done = resolve;
    });
    try {
      const verified = await steps.verifyAll(candidates.map((i) => txs[i]!));
      await previous;
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
    } finally {
      for (const sender of senders) {
        const left = this.#inFlight.get(sender)! - 1;
        if (left > 0) this.#inFlight.set(sender, left);
        else this.#inFlight.delete(sender);
      }
      done();
    }
  }
}

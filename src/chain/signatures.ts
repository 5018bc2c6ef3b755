import type { Transaction } from "../core/transaction.js";
import { transactionSigningBytes, verifyTransactionSignature } from "../core/transaction.js";
import type { VerifyPool } from "./verify-pool.js";

/** Transactions whose signatures verified: what the mempool and block import consult. */
export interface VerifiedSignatures {
  /** Whether `tx`'s signature verified on this node (cached). */
  isVerified(tx: Transaction): boolean;
  /** Records a transaction whose signature verified. */
  markVerified(tx: Transaction): void;
}

export const DEFAULT_SIGNATURE_CACHE_SIZE = 32_768;

/** A transaction being verified: the batch it went with, and its place there. */
interface InFlight {
  batch: Promise<boolean[]>;
  index: number;
}

/**
 * The node's one signature cache, shared by admission (API and gossip), the mempool and block
 * import, so that no transaction is verified twice on one node. It remembers the ids of
 * transactions whose signatures verified: a transaction's id hashes its signed encoding,
 * signature included, so an id stands for exactly one signature (a changed signature is another
 * id). Only successes are kept: a forged signature is checked again wherever it turns up, and
 * refused there with its code.
 *
 * `verify`/`verifyAll` check what is not cached in the pool of worker threads (or on this
 * thread without one), and a transaction already being verified is not sent twice: the API and
 * gossip may hand over the same one at once.
 */
export class SignatureCache implements VerifiedSignatures {
  readonly capacity: number;
  readonly #pool: VerifyPool | undefined;
  /** Verified ids, least recently used first (Map order). */
  readonly #verified = new Map<string, true>();
  readonly #inFlight = new Map<string, InFlight>();
  /** Lookups answered from the cache, and signatures verified (metrics). */
  readonly counts = { hits: 0, verified: 0 };

  constructor(options: { pool?: VerifyPool; capacity?: number } = {}) {
    this.#pool = options.pool;
    this.capacity = Math.max(1, options.capacity ?? DEFAULT_SIGNATURE_CACHE_SIZE);
  }

  get size(): number {
    return this.#verified.size;
  }

  isVerified(tx: Transaction): boolean {
    return this.isVerifiedId(tx.id);
  }

  /** The same by id: what a node asks of bytes it has not decoded (their hash is the id). */
  isVerifiedId(id: string): boolean {
    if (!this.#verified.has(id)) return false;
    // Refresh: what is used stays (a pending transaction is asked again when its block comes).
    this.#verified.delete(id);
    this.#verified.set(id, true);
    this.counts.hits++;
    return true;
  }

  markVerified(tx: Transaction): void {
    this.#verified.delete(tx.id);
    this.#verified.set(tx.id, true);
    if (this.#verified.size > this.capacity)
      this.#verified.delete(this.#verified.keys().next().value as string);
  }

  /** Whether `tx`'s signature verifies (cached, or checked now). Never rejects. */
  async verify(tx: Transaction): Promise<boolean> {
    const [ok] = await this.verifyAll([tx]);
    return ok!;
  }

  /** Whether each transaction's signature verifies, in order. Never rejects. */
  verifyAll(txs: readonly Transaction[]): Promise<boolean[]> {
    const results = new Array<boolean>(txs.length).fill(true);
    const fresh: Transaction[] = [];
    const freshAt: number[] = [];
    /** Verifications already under way for another caller: [index here, batch, index there]. */
    let shared: [number, InFlight][] | undefined;
    for (let i = 0; i < txs.length; i++) {
      const tx = txs[i]!;
      if (this.isVerified(tx)) continue;
      const pending = this.#inFlight.get(tx.id);
      if (pending) {
        shared ??= [];
        shared.push([i, pending]);
      } else {
        fresh.push(tx);
        freshAt.push(i);
      }
    }
    if (fresh.length === 0 && !shared) return Promise.resolve(results);
    let checked: Promise<boolean[]> | undefined;
    if (fresh.length > 0) {
      // Recorded before any caller resumes: what a caller does next finds them cached.
      checked = this.#check(fresh).then((all) => {
        for (let j = 0; j < fresh.length; j++) {
          this.#inFlight.delete(fresh[j]!.id);
          if (all[j]) this.markVerified(fresh[j]!);
        }
        return all;
      });
      // One entry a transaction, but no promise a transaction: the batch and a place in it.
      for (let j = 0; j < fresh.length; j++)
        this.#inFlight.set(fresh[j]!.id, { batch: checked, index: j });
    }
    return Promise.all([checked, ...(shared ?? []).map(([, p]) => p.batch)]).then(
      ([mine, ...theirs]) => {
        if (mine) for (let j = 0; j < freshAt.length; j++) results[freshAt[j]!] = mine[j]!;
        shared?.forEach(([i, p], k) => {
          results[i] = theirs[k]![p.index]!;
        });
        return results;
      },
    );
  }

  /**
   * Verifies what is not cached yet; resolves once every signature is checked (the valid ones
   * then cached). Undefined when everything is cached already: the common case costs no promise.
   */
  prepare(txs: readonly Transaction[]): Promise<unknown> | undefined {
    let missing: Transaction[] | undefined;
    for (const tx of txs)
      if (!this.#verified.has(tx.id)) {
        missing ??= [];
        missing.push(tx);
      }
    return missing && this.verifyAll(missing);
  }

  #check(txs: Transaction[]): Promise<boolean[]> {
    this.counts.verified += txs.length;
    if (!this.#pool) return Promise.resolve(txs.map(verifyTransactionSignature));
    return this.#pool.verify(
      txs.map((tx) => ({
        message: transactionSigningBytes(tx),
        signature: tx.signature,
        publicKey: tx.senderPublicKey,
      })),
    );
  }
}

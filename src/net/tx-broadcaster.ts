import type { Transaction } from "../core/transaction.js";
import { MAX_TX_BATCH, TX_BATCH_MS } from "./protocols.js";
import { encodeTxBatch } from "./wire.js";

/**
 * Gathers transactions this node admitted (and so verified) into gossip batches: a batch leaves
 * every TX_BATCH_MS, or at once when full, so that the transport's per-message costs are paid
 * once per batch. Only what this node verified goes out: a batch from a peer is relayed as it
 * came only when every transaction in it was admitted here; otherwise the admitted ones are
 * re-packed through this queue (see gossip-validation.ts).
 */
export class TxBroadcaster {
  readonly #publish: (batch: Uint8Array, count: number) => Promise<void>;
  #queue: Transaction[] = [];
  readonly #queued = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `publish` sends one encoded batch and never throws. */
  constructor(publish: (batch: Uint8Array, count: number) => Promise<void>) {
    this.#publish = publish;
  }

  /** Transactions waiting for the next batch. */
  get size(): number {
    return this.#queue.length;
  }

  /** Queues a transaction (once) for the next batch. */
  async add(tx: Transaction): Promise<void> {
    if (this.#closed || this.#queued.has(tx.id)) return;
    this.#queue.push(tx);
    this.#queued.add(tx.id);
    if (this.#queue.length >= MAX_TX_BATCH) await this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), TX_BATCH_MS);
  }

  /** Sends everything queued now. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_TX_BATCH);
      for (const tx of batch) this.#queued.delete(tx.id);
      await this.#publish(encodeTxBatch(batch), batch.length);
    }
  }

  /** Sends what is queued, then takes no more. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}

import type { Transaction } from "../core/transaction.js";
import { MAX_TX_BATCH, TX_BATCH_MS } from "./protocols.js";
import { encodeTxBatch } from "./wire.js";

/** Transactions kept while no peer listens on the topic, and how often that is looked at again. */
const MAX_WAITING = 4096;
const LISTENER_POLL_MS = 500;

export interface TxBroadcasterDeps {
  /** Sends one encoded batch; never throws. */
  publish(batch: Uint8Array, count: number): Promise<unknown>;
  /** Whether any peer is known to listen on the topic (a publish would reach someone). */
  hasListeners(): boolean;
}

/**
 * Gathers transactions this node admitted (and so verified) into gossip batches: a batch leaves
 * every TX_BATCH_MS, or at once when full, so that the transport's per-message costs are paid
 * once per batch. Only what this node verified goes out: a batch from a peer is relayed as it
 * came only when every transaction in it was admitted here; otherwise the admitted ones are
 * re-packed through this queue (see gossip-validation.ts). While no peer listens (a node just
 * started, or cut off) nothing is published: the batch waits (up to MAX_WAITING transactions)
 * and leaves once a listener appears, so that a transaction acknowledged early is not lost in a
 * publish that reached nobody.
 */
export class TxBroadcaster {
  readonly #deps: TxBroadcasterDeps;
  #queue: Transaction[] = [];
  readonly #queued = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: TxBroadcasterDeps) {
    this.#deps = deps;
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

  /** Sends everything queued now (or, with no listener, waits for one). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0) return;
    if (!this.#deps.hasListeners()) {
      // The oldest go first when the wait outgrows its bound.
      const over = this.#queue.length - MAX_WAITING;
      if (over > 0) for (const tx of this.#queue.splice(0, over)) this.#queued.delete(tx.id);
      if (!this.#closed) this.#timer = setTimeout(() => void this.flush(), LISTENER_POLL_MS);
      this.#timer?.unref?.();
      return;
    }
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_TX_BATCH);
      for (const tx of batch) this.#queued.delete(tx.id);
      await this.#deps.publish(encodeTxBatch(batch), batch.length);
    }
  }

  /** Sends what is queued (if anyone listens), then takes no more. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

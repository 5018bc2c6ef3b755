import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { verify } from "../core/keys.js";
import { workerUrl } from "../util/worker-url.js";
import {
  ITEM_HEADER_BYTES,
  PUBLIC_KEY_OFFSET,
  SIGNATURE_OFFSET,
  type VerifyReply,
  type VerifyRequest,
} from "./verify-protocol.js";

/** One Ed25519 verification: the signed message, the signature and the signer's public key. */
export interface VerifyItem {
  message: Uint8Array;
  signature: Uint8Array;
  publicKey: Uint8Array;
}

export interface VerifyPoolOptions {
  /** Worker threads (default: the machine's cores); 0 verifies on the calling thread. */
  threads?: number;
  /** Most verifications handed to one worker at once (default 256). */
  maxBatch?: number;
}

/** A caller's request: its items, their results, and how many are still out. */
interface Request {
  items: readonly VerifyItem[];
  results: boolean[];
  left: number;
  resolve(results: boolean[]): void;
}

/** A run of one request's items, from `from` to `to` (excluded). */
interface Segment {
  request: Request;
  from: number;
  to: number;
}

interface PoolWorker {
  worker: Worker;
  /** The segments of the batch it is verifying; undefined when idle. */
  busy: Segment[] | undefined;
}

/**
 * Ed25519 verification off the event loop: a pool of worker threads, one a core by default.
 * Requests from every caller (API, gossip, block import) share one queue, and a worker that
 * becomes free takes everything queued, up to `maxBatch`, in one message: under load, batches
 * grow by themselves and the cost of passing messages between threads is paid once per batch.
 * Dispatch waits for the end of the current turn of the event loop (setImmediate), so that the
 * requests of one turn (several HTTP requests, a gossip batch) leave together.
 *
 * The results are exactly those of core `verify` (the workers run it): a worker that dies takes
 * nothing with it, its batch is verified on this thread instead and a new worker replaces it.
 */
export class VerifyPool {
  readonly threads: number;
  readonly #maxBatch: number;
  readonly #workers: PoolWorker[] = [];
  #queue: Segment[] = [];
  #queued = 0;
  #scheduled = false;
  #closed = false;
  /** Verifications done by the workers and on this thread (tests and metrics). */
  readonly counts = { worker: 0, inline: 0, batches: 0 };

  constructor(options: VerifyPoolOptions = {}) {
    this.threads = Math.max(0, Math.floor(options.threads ?? availableParallelism()));
    this.#maxBatch = Math.max(1, options.maxBatch ?? 256);
  }

  /** Verifications waiting for a worker. */
  get queued(): number {
    return this.#queued;
  }

  /** Verifies every item; the results are in the items' order. Never rejects. */
  verify(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.#closed || this.threads === 0) return Promise.resolve(verifyInline(items, this));
    return new Promise((resolve) => {
      const request: Request = {
        items,
        results: new Array<boolean>(items.length).fill(false),
        left: items.length,
        resolve,
      };
      this.#queue.push({ request, from: 0, to: items.length });
      this.#queued += items.length;
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#dispatch());
      }
    });
  }

  /** Stops the workers; what they were verifying, and what is queued, is verified here. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const workers = this.#workers.splice(0);
    for (const w of workers) if (w.busy) this.#finishInline(w.busy);
    for (const w of workers) w.busy = undefined;
    this.#finishInline(this.#takeAll());
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  #dispatch(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    while (this.#workers.length < this.threads) this.#workers.push(this.#spawn());
    const idle = this.#workers.filter((w) => w.busy === undefined);
    for (let i = 0; i < idle.length && this.#queued > 0; i++) {
      // Spread what is queued over the idle workers, so that every core gets a share.
      const share = Math.min(this.#maxBatch, Math.ceil(this.#queued / (idle.length - i)));
      this.#send(idle[i]!, this.#take(share));
    }
  }

  #spawn(): PoolWorker {
    const worker = new Worker(workerUrl(import.meta.url, "verify-worker"));
    // Idle workers do not keep the process alive; close() stops them.
    worker.unref();
    const entry: PoolWorker = { worker, busy: undefined };
    worker.on("message", (reply: VerifyReply) => this.#onReply(entry, reply));
    const lost = () => {
      const index = this.#workers.indexOf(entry);
      if (index < 0) return;
      this.#workers.splice(index, 1);
      if (entry.busy) this.#finishInline(entry.busy);
      entry.busy = undefined;
      if (this.#queued > 0 && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#dispatch());
      }
    };
    worker.on("error", lost);
    worker.on("exit", lost);
    return entry;
  }

  #send(entry: PoolWorker, segments: Segment[]): void {
    let count = 0;
    let bytes = 0;
    for (const s of segments)
      for (let i = s.from; i < s.to; i++) {
        count++;
        bytes += ITEM_HEADER_BYTES + s.request.items[i]!.message.length;
      }
    const buffer = new ArrayBuffer(bytes);
    const view = new DataView(buffer);
    const out = new Uint8Array(buffer);
    let at = 0;
    for (const s of segments)
      for (let i = s.from; i < s.to; i++) {
        const item = s.request.items[i]!;
        // A key or signature of the wrong size cannot verify: it travels as zeros and its
        // result is forced to false below.
        view.setUint32(at, item.message.length);
        if (item.publicKey.length === 32) out.set(item.publicKey, at + PUBLIC_KEY_OFFSET);
        if (item.signature.length === 64) out.set(item.signature, at + SIGNATURE_OFFSET);
        out.set(item.message, at + ITEM_HEADER_BYTES);
        at += ITEM_HEADER_BYTES + item.message.length;
      }
    entry.busy = segments;
    this.counts.batches++;
    const request: VerifyRequest = { count, buffer };
    entry.worker.postMessage(request, [buffer]);
  }

  #onReply(entry: PoolWorker, reply: VerifyReply): void {
    const segments = entry.busy;
    entry.busy = undefined;
    if (!segments) return;
    let k = 0;
    for (const s of segments)
      for (let i = s.from; i < s.to; i++) {
        const item = s.request.items[i]!;
        const wellSized = item.publicKey.length === 32 && item.signature.length === 64;
        this.#settle(s.request, i, wellSized && reply.results[k] === 1);
        k++;
      }
    this.counts.worker += k;
    if (this.#queued > 0) this.#send(entry, this.#take(this.#maxBatch));
  }

  #settle(request: Request, index: number, ok: boolean): void {
    request.results[index] = ok;
    if (--request.left === 0) request.resolve(request.results);
  }

  /** Takes up to `count` queued verifications, in arrival order. */
  #take(count: number): Segment[] {
    const taken: Segment[] = [];
    let left = count;
    while (left > 0 && this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const n = Math.min(left, head.to - head.from);
      taken.push({ request: head.request, from: head.from, to: head.from + n });
      head.from += n;
      left -= n;
      if (head.from === head.to) this.#queue.shift();
    }
    this.#queued -= count - left;
    return taken;
  }

  #takeAll(): Segment[] {
    const all = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    return all;
  }

  #finishInline(segments: Segment[]): void {
    for (const s of segments)
      for (let i = s.from; i < s.to; i++) {
        const item = s.request.items[i]!;
        this.counts.inline++;
        this.#settle(s.request, i, verify(item.message, item.signature, item.publicKey));
      }
  }
}

function verifyInline(items: readonly VerifyItem[], pool: VerifyPool): boolean[] {
  pool.counts.inline += items.length;
  return items.map((item) => verify(item.message, item.signature, item.publicKey));
}

import { Worker } from "node:worker_threads";
import {
  type BlockHeader,
  computeEvidenceRoot,
  computeTxRoot,
  MAX_BLOCK_TRANSACTIONS,
  sealBlock,
} from "../../core/block.js";
import { bigIntToBytes, toHex } from "../../core/bytes.js";
import type { PowConfig } from "../../core/genesis.js";
import type { Transaction } from "../../core/transaction.js";
import { workerUrl } from "../../util/worker-url.js";
import { transactionsThatFit } from "../block-space.js";
import type { BlockProducer, ProducerDeps, ProducerStats } from "../engine.js";
import { POW_CLOCK_DRIFT_MS } from "./clock.js";
import type { MinerReport, MinerRequest } from "./miner-protocol.js";
import { powHashInput } from "./nonce-search.js";
import { nextTarget } from "./retarget.js";
import { hashMeetsTarget } from "./target.js";

/** A block being mined: everything but the nonce and the signature. */
interface Template {
  job: number;
  header: BlockHeader;
  target: bigint;
  transactions: Transaction[];
}

/** Starts the miner's worker thread (compiled JavaScript under dist/). */
export function spawnMinerWorker(): Worker {
  return new Worker(workerUrl(import.meta.url, "miner-worker"));
}

/**
 * How often the template is rebuilt: new transactions get in, and the timestamp stays close to
 * the moment the block is found (it is the solve time the next retarget reads).
 */
export function templateRefreshMs(config: PowConfig): number {
  return Math.min(1000, Math.max(100, Math.floor(config.targetBlockMs / 4)));
}

export interface PowMinerOptions {
  /** Starts the worker; tests pass one that keeps a handle on it. */
  spawn?: () => Worker;
}

/**
 * The PoW block producer. The hashing runs in a worker thread, so the event loop (API, network)
 * never waits on it. The main thread builds templates — head, retarget, timestamp, transactions —
 * and hands the worker the bytes to hash; a new head, a periodic refresh, or the first
 * transactions for an empty template replace the template. A found nonce is sealed into a block,
 * signed over the block hash with the miner's key and submitted; mining resumes on the new head.
 */
export class PowMiner implements BlockProducer {
  private running = false;
  private worker: Worker | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private template: Template | undefined;
  private jobs = 0;
  private restartPending = false;
  /** Between a found nonce and the chain's answer: no new template on the old head. */
  private submitting = false;
  private readonly counts = { produced: 0, hashes: 0 };
  private readonly spawn: () => Worker;

  constructor(
    private readonly chainId: string,
    private readonly config: PowConfig,
    private readonly deps: ProducerDeps,
    options: PowMinerOptions = {},
  ) {
    this.spawn = options.spawn ?? spawnMinerWorker;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.deps.log.info({ refreshMs: templateRefreshMs(this.config) }, "miner started");
    this.refreshTimer = setInterval(() => this.restart(), templateRefreshMs(this.config));
    this.restart();
  }

  onNewHead(): void {
    this.requestRestart();
  }

  onTransactions(): void {
    if (this.template && this.template.transactions.length === 0) this.requestRestart();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    this.template = undefined;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  stats(): ProducerStats {
    return {
      running: this.running,
      produced: this.counts.produced,
      slotsChecked: 0,
      slotsWon: 0,
      hashes: this.counts.hashes,
    };
  }

  /** Coalesces bursts of new heads (a sync) into one template. */
  private requestRestart(): void {
    if (!this.running || this.restartPending) return;
    this.restartPending = true;
    setImmediate(() => this.restart());
  }

  /** Builds a template on the current head and sends it to the worker. Never throws. */
  private restart(): void {
    this.restartPending = false;
    if (!this.running || this.submitting) return;
    try {
      const template = this.buildTemplate();
      const worker = template && this.ensureWorker();
      if (!template || !worker) {
        this.template = undefined;
        this.worker?.postMessage({ type: "idle" } satisfies MinerRequest);
        return;
      }
      this.template = template;
      worker.postMessage({
        type: "mine",
        job: template.job,
        input: powHashInput(template.header),
        target: bigIntToBytes(template.target, 32),
      } satisfies MinerRequest);
    } catch (e) {
      this.deps.log.warn({ err: e instanceof Error ? e.message : String(e) }, "mining failed");
    }
  }

  private buildTemplate(): Template | undefined {
    // While catching up, mining on a stale head would only fork; the refresh timer retries.
    if (this.deps.paused?.()) return undefined;
    const head = this.deps.head();
    const parent = head.header;
    if (parent.seal.type !== "pow") return undefined;
    const grandparent =
      parent.height >= 2 ? head.headers.getHeader(toHex(parent.previousHash)) : undefined;
    if (parent.height >= 2 && !grandparent) {
      this.deps.log.warn({ height: parent.height }, "head's parent header unknown; not mining");
      return undefined;
    }
    const target = nextTarget(parent, grandparent, this.config);
    const now = this.deps.now();
    const timestamp = Math.max(now, parent.timestamp + 1);
    if (timestamp > now + POW_CLOCK_DRIFT_MS) {
      this.deps.log.debug({ parent: parent.timestamp, now }, "head is ahead of this clock");
      return undefined;
    }
    const transactions = transactionsThatFit(
      this.deps.selectBody(MAX_BLOCK_TRANSACTIONS, undefined, timestamp).transactions,
    );
    const header: BlockHeader = {
      chainId: this.chainId,
      height: parent.height + 1,
      previousHash: head.hash,
      timestamp,
      forger: this.deps.publicKey,
      txRoot: computeTxRoot(transactions),
      evidenceRoot: computeEvidenceRoot([]),
      stateRoot: this.deps.stateRoot({ transactions, evidence: [] }, undefined),
      seal: { type: "pow", target, nonce: 0n },
    };
    return { job: ++this.jobs, header, target, transactions };
  }

  private ensureWorker(): Worker | undefined {
    if (this.worker) return this.worker;
    const worker = this.spawn();
    worker.on("message", (report: MinerReport) => this.onReport(worker, report));
    worker.on("error", (e) => this.deps.log.warn({ err: e.message }, "miner worker failed"));
    worker.on("exit", (code) => {
      if (this.worker !== worker) return;
      // Respawned by the next refresh.
      this.worker = undefined;
      this.template = undefined;
      if (this.running) this.deps.log.warn({ code }, "miner worker exited");
    });
    this.worker = worker;
    return worker;
  }

  /** Runs from the worker's message event: a failure is logged, never thrown into it. */
  private onReport(worker: Worker, report: MinerReport): void {
    if (worker !== this.worker) return;
    this.counts.hashes += report.hashes;
    const template = this.template;
    if (!template || report.job !== template.job) return;
    try {
      if (report.type === "found") this.seal(template, report.nonce);
      else if (report.type === "exhausted") this.restart();
    } catch (e) {
      this.submitting = false;
      this.deps.log.warn({ err: e instanceof Error ? e.message : String(e) }, "sealing failed");
      this.restart();
    }
  }

  private seal(template: Template, nonce: bigint): void {
    this.template = undefined;
    const { txRoot: _t, evidenceRoot: _e, ...header } = template.header;
    const block = sealBlock(
      { ...header, seal: { type: "pow", target: template.target, nonce } },
      template.transactions,
      this.deps.privateKey,
    );
    if (!hashMeetsTarget(block.hash, template.target)) {
      this.deps.log.warn({ nonce: nonce.toString() }, "worker's nonce does not meet the target");
      this.restart();
      return;
    }
    this.counts.produced++;
    this.submitting = true;
    const where = { height: block.header.height, hash: block.hashHex };
    this.deps.log.info({ ...where, transactions: block.transactions.length }, "mined block");
    // Through a promise, so that a submit that throws at once is handled like a rejection.
    Promise.resolve()
      .then(() => this.deps.submit(block))
      .catch((e: unknown) => {
        const reason = e instanceof Error ? e.message : String(e);
        this.deps.log.warn({ ...where, reason }, "mined block was not imported");
      })
      .finally(() => {
        this.submitting = false;
        this.restart();
      });
  }
}

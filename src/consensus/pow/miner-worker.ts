import { parentPort } from "node:worker_threads";
import type { MinerReport, MinerRequest } from "./miner-protocol.js";
import { NonceSearch } from "./nonce-search.js";

/**
 * The miner's worker thread: hashes nonces of the current template in slices, yielding to its own
 * event loop between slices so that a new template (or "idle") is taken within one slice.
 */
const SLICE_NONCES = 16_384;

const port = parentPort;
if (!port) throw new Error("miner-worker must run in a worker thread");

let search: NonceSearch | undefined;
let job = 0;
let scheduled = false;

function report(message: MinerReport): void {
  port!.postMessage(message);
}

function runSlice(): void {
  scheduled = false;
  const current = search;
  if (!current) return;
  const before = current.hashes;
  const nonce = current.next(SLICE_NONCES);
  const hashes = current.hashes - before;
  if (nonce !== undefined) {
    search = undefined;
    report({ type: "found", job, nonce, hashes });
  } else if (current.exhausted) {
    search = undefined;
    report({ type: "exhausted", job, hashes });
  } else {
    report({ type: "progress", job, hashes });
    schedule();
  }
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(runSlice);
}

port.on("message", (request: MinerRequest) => {
  if (request.type === "mine") {
    search = new NonceSearch(request.input, request.target);
    job = request.job;
    schedule();
  } else {
    search = undefined;
  }
});

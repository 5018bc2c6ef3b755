import { hash } from "node:crypto";
import type { ProducerDeps } from "../src/consensus/engine.js";
import { PowMiner } from "../src/consensus/pow/miner.js";
import { NonceSearch, powHashInput } from "../src/consensus/pow/nonce-search.js";
import { type BlockHeader, makeBlock } from "../src/core/block.js";
import { keyPairFromSeed } from "../src/core/keys.js";
import { median, round } from "./raw.js";

/**
 * PoW hash rate: the miner's inner loop (midstate SHA-256 over a real header's bytes, nonce
 * increment, target comparison) beside raw SHA-256 of the same byte length through node:crypto's
 * fastest call (crypto.hash, one shot), in the same run, and their ratio; then the rate the real
 * miner reaches in its worker thread (messages and slices included).
 */
const header: BlockHeader = {
  chainId: "lotchain-bench",
  height: 100_000,
  previousHash: new Uint8Array(32).fill(1),
  timestamp: 1_764_000_000_000,
  forger: new Uint8Array(32).fill(2),
  txRoot: new Uint8Array(32).fill(3),
  evidenceRoot: new Uint8Array(32).fill(4),
  stateRoot: new Uint8Array(32).fill(5),
  seal: { type: "pow", target: 1n << 236n, nonce: 0n },
};

/** Units of work per second: `step` does `units` of them; runs for about durationMs. */
function unitsPerSec(durationMs: number, units: number, step: () => void): number {
  step();
  let done = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    step();
    done += units;
    elapsed = performance.now() - start;
  } while (elapsed < durationMs);
  return (done * 1000) / elapsed;
}

async function workerRate(durationMs: number): Promise<number> {
  const key = keyPairFromSeed(new Uint8Array(32).fill(9));
  // A head whose retarget asks for a hash of at most 1: the miner hashes for the whole run.
  const parent = makeBlock(
    { ...header, height: 2, seal: { type: "pow", target: 1n, nonce: 0n } },
    new Uint8Array(64),
    [],
  );
  const grandparent = { ...header, height: 1, timestamp: header.timestamp - 1000 };
  const quiet = () => {};
  const deps: ProducerDeps = {
    privateKey: key.privateKey,
    publicKey: key.publicKey,
    head: () => ({
      header: parent.header,
      hash: parent.hash,
      headers: { getHeader: () => grandparent },
      lottery: () => undefined,
    }),
    selectBody: () => ({ transactions: [], evidence: [] }),
    stateRoot: () => new Uint8Array(32),
    submit: async () => {},
    forgeEmptyBlocks: false,
    now: () => Date.now(),
    log: { info: quiet, warn: quiet, debug: quiet },
  };
  const config = { type: "pow" as const, targetBlockMs: 1000, initialTarget: 1n << 255n };
  const miner = new PowMiner("lotchain-bench", config, deps);
  miner.start();
  // Let the worker start and warm up before measuring.
  while (miner.stats().hashes === 0) await new Promise((r) => setTimeout(r, 10));
  const before = miner.stats().hashes;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, durationMs));
  const hashes = miner.stats().hashes - before;
  const elapsed = performance.now() - start;
  await miner.stop();
  return (hashes * 1000) / elapsed;
}

export async function run(): Promise<Record<string, number>> {
  const input = powHashInput(header);
  // Target 0: no nonce succeeds, so every call hashes its whole slice.
  const search = new NonceSearch(input, new Uint8Array(32));
  const slice = 4096;
  const raw = Buffer.from(input);
  let nonce = 0;
  const rawSlice = () => {
    for (let i = 0; i < slice; i++) {
      raw.writeUInt32BE(nonce++ >>> 0, raw.length - 4);
      hash("sha256", raw, "buffer");
    }
  };
  // Alternating rounds; ratios are the median of per-round ratios (the machine is shared).
  const inner: number[] = [];
  const raws: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < 7; r++) {
    const rawRate = unitsPerSec(250, slice, rawSlice);
    const innerRate = unitsPerSec(250, slice, () => search.next(slice));
    raws.push(rawRate);
    inner.push(innerRate);
    ratios.push(innerRate / rawRate);
  }
  const rawBefore = unitsPerSec(500, slice, rawSlice);
  const inWorker = await workerRate(1500);
  const rawAfter = unitsPerSec(500, slice, rawSlice);
  return {
    "pow.headerBytes": input.length,
    "pow.rawSha256PerSec": round(median(raws)),
    "pow.innerLoopHashesPerSec": round(median(inner)),
    "pow.ratioInnerToRaw": round(median(ratios), 3),
    "pow.workerHashesPerSec": round(inWorker),
    "pow.ratioWorkerToRaw": round((2 * inWorker) / (rawBefore + rawAfter), 3),
  };
}

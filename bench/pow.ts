import { hash } from "node:crypto";
import type { ProducerDeps } from "../src/consensus/engine.js";
import { PowMiner } from "../src/consensus/pow/miner.js";
import { NonceSearch, powHashInput } from "../src/consensus/pow/nonce-search.js";
import { type BlockHeader, makeBlock } from "../src/core/block.js";
import { keyPairFromSeed } from "../src/core/keys.js";
import { median, round } from "./raw.js";

/**
 * PoW hash rate, like with like. The miner hashes a real header's bytes (the tagged-hash prefix
 * plus the header encoding, nonce last) in JavaScript from a midstate: the 64-byte blocks before
 * the nonce are compressed once, and each nonce costs only the compressions of the tail. The raw
 * limit is node:crypto's SHA-256 of the same bytes, one call per nonce, which compresses every
 * block of the input each time. So two ratios, both measured in the same rounds:
 * - per compression (the SHA-256 work itself: JavaScript against native code), and
 * - per header hash (what the midstate buys on this header size).
 * Then the rate the real miner reaches in its worker thread (messages and slices included).
 */
const BLOCK = 64;
/** SHA-256 compressions of a message of `bytes` (padding: 0x80, zeros, 8-byte length). */
const compressionsOf = (bytes: number) => Math.ceil((bytes + 9) / BLOCK);
/** Compressions per nonce after the midstate (the blocks from the one holding the nonce on). */
function tailCompressions(bytes: number): number {
  const nonceStart = bytes - 8;
  return compressionsOf(bytes - (nonceStart - (nonceStart % BLOCK)));
}

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
  const full = compressionsOf(input.length);
  const tail = tailCompressions(input.length);
  const rawRate = median(raws);
  const workerRaw = (rawBefore + rawAfter) / 2;
  return {
    "pow.headerBytes": input.length,
    "pow.compressionsPerRawHash": full,
    "pow.compressionsPerMinerHash": tail,
    "pow.rawSha256PerSec": round(rawRate),
    "pow.rawCompressionsPerSec": round(rawRate * full),
    "pow.innerLoopHashesPerSec": round(median(inner)),
    "pow.innerLoopCompressionsPerSec": round(median(inner) * tail),
    "pow.ratioInnerToRawPerCompression": round((median(ratios) * tail) / full, 3),
    "pow.ratioInnerToRawPerHash": round(median(ratios), 3),
    "pow.workerHashesPerSec": round(inWorker),
    "pow.ratioWorkerToRawPerCompression": round((inWorker * tail) / (workerRaw * full), 3),
    "pow.ratioWorkerToRawPerHash": round(inWorker / workerRaw, 3),
  };
}

import { verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { keyPairFromSeed, publicKeyObject } from "../src/core/keys.js";
import { transactionFromJson, transactionSigningBytes } from "../src/core/transaction.js";
import { postJson, writeIngestGenesis } from "./http.js";
import { signRange } from "./net-sign-worker.js";
import {
  eventLoopLag,
  machineCpuSeconds,
  type NodeProcess,
  processCpuSeconds,
  startNode,
  stopNode,
} from "./network.js";
import { median, rateAndCpu, round } from "./raw.js";

/**
 * One node's ingest (issue 15): signed transfers offered to one `lotchain node` process (no key,
 * so they accumulate in its mempool) as fast as it takes them, two ways:
 *  - single: one POST /v1/transactions a transfer, from 32 concurrent keep-alive clients;
 *  - batch: POST /v1/transactions/batch, 500 transfers a request, 4 requests in flight.
 * Each round starts a fresh node for each way (the same transfers, from genesis) and the ways
 * alternate; medians over the rounds are reported. Beside them, the raw limit: one core's
 * node:crypto Ed25519 verifications of the same transfers in this process, measured before and
 * between the rounds. The targets are ratios to it: single ≥ 0.8 (the node verifies on both
 * cores, but HTTP costs about as much as a verification), batch ≥ 1.3 (two cores verify at most
 * 2.0x).
 *
 * Also per way: the node's CPU per transfer (in raw verifications' worth), the node's event-loop
 * delay p99 while saturated, and this process's own CPU (the load generator), in cores: on a
 * 2-core machine a load generator that takes most of a core starves the node it measures.
 *
 * Knobs (environment): LOTCHAIN_BENCH_INGEST_ROUNDS (3), LOTCHAIN_BENCH_INGEST_MODES
 * ("single,batch"; "inline" adds single POSTs to a node verifying on its event loop,
 * --verify-threads 0, the way before the worker pool), LOTCHAIN_BENCH_NODE_FLAGS (node flags).
 */

const CHAIN = "lotchain-bench-ingest";
const SENDERS = 512;
const PER_SENDER = 32; // 16,384 transfers: within the sender limit (64) of the mempool
const CLIENTS = 32;
const BATCH = 500;
const BATCHES_IN_FLIGHT = 4;
const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const ROUNDS = Number(env("LOTCHAIN_BENCH_INGEST_ROUNDS", "3"));
const MODES = env("LOTCHAIN_BENCH_INGEST_MODES", "single,batch").split(",") as Mode[];

type Mode = "single" | "batch" | "inline";

interface Sample {
  txPerSec: number;
  nodeCpuMicrosPerTx: number;
  nodeCpuCores: number;
  loadGeneratorCpuCores: number;
  lagP99Ms: number;
  refused: number;
  /** CPU of the node's event-loop thread per accepted transfer */
  nodeMainThreadMicrosPerTx: number;
  /** CPU of the load generator (this process) per accepted transfer */
  loadGeneratorMicrosPerTx: number;
  /** signatures per batch the node's verification workers got */
  verifyBatchItems: number;
  /** CPU the rest of the machine used meanwhile, in cores (it is shared) */
  otherCpuCores: number;
}

/** User plus system CPU seconds of one thread of a process (Linux /proc; the main thread's id is the pid). */
function threadCpuSeconds(pid: number, tid: number): number {
  const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A counter or gauge of the node's /metrics (the sum over its label sets). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, "gm")))
    sum += Number(m[2]);
  return sum;
}

/** Runs `concurrency` workers over `bodies`; returns how many transfers were refused. */
async function offer(
  url: string,
  bodies: string[],
  concurrency: number,
  refusedIn: (res: { status: number; text: string }) => number,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let refused = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length)
          refused += refusedIn(await postJson(agent, url, bodies[next++]!));
      }),
    );
  } finally {
    agent.destroy();
  }
  return refused;
}

async function measure(
  mode: Mode,
  genesis: string,
  dir: string,
  load: { singles: string[]; batches: string[]; count: number },
): Promise<Sample> {
  const dataDir = mkdtempSync(join(dir, `${mode}-`));
  const flags = ["--genesis", genesis, "--data-dir", dataDir, "--mempool-size", "20000"];
  if (mode === "inline") flags.push("--verify-threads", "0");
  const node: NodeProcess = await startNode(dir, flags);
  try {
    await eventLoopLag(node.url); // resets the node's event-loop histogram
    const pid = node.child.pid!;
    const cpu0 = processCpuSeconds(pid);
    const main0 = threadCpuSeconds(pid, pid);
    const machine0 = machineCpuSeconds();
    const self0 = process.cpuUsage();
    const start = performance.now();
    const refused =
      mode === "batch"
        ? await offer(`${node.url}/v1/transactions/batch`, load.batches, BATCHES_IN_FLIGHT, (r) =>
            r.status !== 200
              ? BATCH
              : (JSON.parse(r.text) as { results: { status: number }[] }).results.filter(
                  (x) => x.status !== 202,
                ).length,
          )
        : await offer(`${node.url}/v1/transactions`, load.singles, CLIENTS, (r) =>
            r.status === 202 ? 0 : 1,
          );
    const seconds = (performance.now() - start) / 1000;
    const nodeCpu = processCpuSeconds(pid) - cpu0;
    const nodeMainCpu = threadCpuSeconds(pid, pid) - main0;
    const self = process.cpuUsage(self0);
    const machine = machineCpuSeconds().busy - machine0.busy;
    const lag = await eventLoopLag(node.url);
    const byWorker = await metric(node.url, 'lotchain_signature_checks\\{by="worker"\\}');
    const batches = await metric(node.url, "lotchain_signature_batches");
    const accepted = load.count - refused;
    return {
      txPerSec: accepted / seconds,
      nodeCpuMicrosPerTx: (nodeCpu * 1e6) / Math.max(1, accepted),
      nodeCpuCores: nodeCpu / seconds,
      loadGeneratorCpuCores: (self.user + self.system) / 1e6 / seconds,
      loadGeneratorMicrosPerTx: (self.user + self.system) / Math.max(1, accepted),
      nodeMainThreadMicrosPerTx: (nodeMainCpu * 1e6) / Math.max(1, accepted),
      lagP99Ms: lag.p99 * 1000,
      refused,
      verifyBatchItems: batches > 0 ? byWorker / batches : 0,
      otherCpuCores: (machine - nodeCpu - (self.user + self.system) / 1e6) / seconds,
    };
  } finally {
    await stopNode(node);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, number>> {
  const seeds = Array.from({ length: SENDERS }, (_, i) => {
    const seed = new Uint8Array(32).fill(0xc1);
    new DataView(seed.buffer).setUint32(0, i);
    return seed;
  });
  const count = SENDERS * PER_SENDER;
  const signed = signRange({ chainId: CHAIN, senderSeeds: seeds, from: 0, to: count });
  const batches: string[] = [];
  for (let i = 0; i < count; i += BATCH)
    batches.push(`{"transactions":[${signed.bodies.slice(i, i + BATCH).join(",")}]}`);
  const load = { singles: signed.bodies, batches, count };

  // The raw limit verifies signatures of the same transfers the node gets.
  const sample = signed.bodies.slice(0, 256).map((body) => {
    const tx = transactionFromJson(JSON.parse(body));
    return { key: publicKeyObject(tx.senderPublicKey), msg: transactionSigningBytes(tx), tx };
  });
  let v = 0;
  const rawVerify = () => {
    const r = sample[v++ % sample.length]!;
    return verify(null, r.msg, r.key, r.tx.signature);
  };

  const dir = mkdtempSync(join(tmpdir(), "lotchain-bench-ingest-"));
  try {
    const genesis = join(dir, "genesis.json");
    const keys = seeds.map((seed) => keyPairFromSeed(seed));
    writeIngestGenesis(
      genesis,
      CHAIN,
      keys.map((k) => k.address),
    );
    const raw = [rateAndCpu(1000, rawVerify)];
    const samples = new Map<Mode, Sample[]>(MODES.map((m) => [m, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of MODES) samples.get(mode)!.push(await measure(mode, genesis, dir, load));
      raw.push(rateAndCpu(700, rawVerify));
    }
    const rawPerSec = median(raw.map((r) => r.perSec));
    const rawCpuMicros = median(raw.map((r) => r.cpuMicros));
    const figures: Record<string, number> = {
      "ingest.cores": availableParallelism(),
      "ingest.transactions": count,
      "ingest.rounds": ROUNDS,
      "ingest.rawVerifyPerSecOneCore": round(rawPerSec),
      "ingest.rawVerifyMicros": round(1e6 / rawPerSec, 1),
      // CPU time of one verification: what "verifications' worth" counts in (contention-proof).
      "ingest.rawVerifyCpuMicros": round(rawCpuMicros, 1),
    };
    for (const [mode, list] of samples) {
      const m = (pick: (s: Sample) => number) => median(list.map(pick));
      const perSec = m((s) => s.txPerSec);
      const p = `ingest.${mode}`;
      // The node checks every transfer's signature once, so its CPU per transfer cannot be under
      // that: a lower figure means the measured pid was not the node (every ratio would be wrong).
      if (m((s) => s.nodeCpuMicrosPerTx) < rawCpuMicros / 2)
        throw new Error(
          `${p}: the node's CPU, ${m((s) => s.nodeCpuMicrosPerTx).toFixed(1)} µs a transfer, is under half of one signature check (${rawCpuMicros.toFixed(1)} µs): the process measured was not the node`,
        );
      figures[`${p}.txPerSec`] = round(perSec);
      figures[`${p}.ratioToRawVerify`] = round(perSec / rawPerSec, 3);
      figures[`${p}.nodeCpuMicrosPerTx`] = round(
        m((s) => s.nodeCpuMicrosPerTx),
        1,
      );
      figures[`${p}.nodeCpuPerTxInVerifications`] = round(
        m((s) => s.nodeCpuMicrosPerTx) / rawCpuMicros,
        2,
      );
      figures[`${p}.verifyBatchItems`] = round(
        m((s) => s.verifyBatchItems),
        1,
      );
      // What the cores would take with nothing else running: cores over the CPU a transfer cost
      // the node and the load generator, and one core over the node's event-loop share (one
      // thread), against one core's raw verifications (CPU time).
      const cpuBound = m(
        (s) =>
          1e6 /
          Math.max(
            (s.nodeCpuMicrosPerTx + s.loadGeneratorMicrosPerTx) / figures["ingest.cores"]!,
            s.nodeMainThreadMicrosPerTx,
          ),
      );
      figures[`${p}.nodeMainThreadCpuMicrosPerTx`] = round(
        m((s) => s.nodeMainThreadMicrosPerTx),
        1,
      );
      figures[`${p}.loadGeneratorCpuMicrosPerTx`] = round(
        m((s) => s.loadGeneratorMicrosPerTx),
        1,
      );
      figures[`${p}.cpuBoundTxPerSec`] = round(cpuBound);
      figures[`${p}.cpuBoundRatioToRawVerify`] = round((cpuBound * rawCpuMicros) / 1e6, 3);
      figures[`${p}.otherCpuCores`] = round(
        m((s) => s.otherCpuCores),
        2,
      );
      figures[`${p}.nodeCpuCores`] = round(
        m((s) => s.nodeCpuCores),
        2,
      );
      figures[`${p}.loadGeneratorCpuCores`] = round(
        m((s) => s.loadGeneratorCpuCores),
        2,
      );
      figures[`${p}.eventLoopLagP99Ms`] = round(
        m((s) => s.lagP99Ms),
        1,
      );
      figures[`${p}.refused`] = Math.max(...list.map((s) => s.refused));
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

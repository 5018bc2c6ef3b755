import { type ChildProcess, spawn } from "node:child_process";
import { verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, get } from "node:http";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { writeKeyFile } from "../src/cli/keyfile.js";
import { type KeyPair, keyPairFromSeed, publicKeyObject } from "../src/core/keys.js";
import {
  signTransaction,
  transactionSigningBytes,
  transactionToJson,
} from "../src/core/transaction.js";
import { postJson } from "./http.js";
import type { SignedRange, SignJob } from "./net-sign-worker.js";
import { median, rateAndCpu, round } from "./raw.js";

/**
 * The network benchmark: a 4-node Proof of Stake devnet on this machine (4 `lotchain node`
 * processes on 127.0.0.1, 4 validators of equal stake, 500 ms slots, 1,024 funded senders;
 * nodes 2-4 bootstrap to node 1) fed a stream of transfers, signed before the clock starts and
 * spread over the 4 nodes' POST /v1/transactions (each sender always through the same node,
 * its nonces in order). Each node's /v1/events stream tells, with arrival times taken in this
 * process, when each block reached each node: a transfer counts as included once the block
 * carrying it is in the chain of every node (blocks of abandoned forks do not count).
 *
 * Two phases, each a warm-up and then a fixed measurement window:
 *  - sat: transfers offered at the verification limit (below) by a few concurrent
 *    clients per node (each waits for the answer, so the nodes set the pace: a closed loop);
 *    a transfer refused for a full mempool is retried, so no sender's nonces get a gap. Its
 *    "included per second" is the network's throughput on this machine.
 *  - steady: once the pools drained, transfers offered at 60% of that throughput: inclusion
 *    latency and block propagation of a network that keeps up.
 *
 * The raw limit beside them: every node verifies every transaction's signature once (on
 * admission from the API or from gossip; block import skips what its mempool admitted), so 4
 * nodes on C cores include at most C × (one core's Ed25519 verifications a second) / 4
 * transactions a second. One core's rate is measured here, before and after the load (median).
 * The CPU each node process used in a window comes from /proc, and with it what a transaction
 * costs the nodes in verifications' worth; the machine's other load (it is shared) is shown too.
 *
 * Before them, the seed's workload: one client sending 500 transfers one after the other
 * (sequentialPhase). The harness's own CPU is reported beside the nodes' (benchCpuCores, and its
 * share of what the machine spent): on 2 cores it must not starve the nodes it measures.
 *
 * Knobs (environment): LOTCHAIN_BENCH_NET_RATE (offered tx/s in sat; default the limit),
 * LOTCHAIN_BENCH_NET_SEQUENTIAL (transfers of the seed's workload, 500; 0 skips it),
 * LOTCHAIN_BENCH_NET_CONCURRENCY (requests in flight per node, 4), LOTCHAIN_BENCH_NET_WINDOW_MS
 * (20000), LOTCHAIN_BENCH_NET_STEADY (the steady phase's share of sat's throughput, 0.6; 0 skips
 * it), LOTCHAIN_BENCH_NODE_FLAGS (node flags for the node processes, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof"), LOTCHAIN_BENCH_NET_NODE_ARGS (`lotchain node` arguments
 * for the devnet's nodes, e.g. "--verify-threads 0").
 */

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const SIGN_WORKER = fileURLToPath(new URL("./net-sign-worker.js", import.meta.url));
const CHAIN = "lotchain-bench-net";
const NODES = 4;
const SLOT_MS = 500;
const SENDERS = 1024;
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
/** Offered rate of the sat phase; 0 (the default): the verification limit measured first. */
const OFFERED_PER_SEC = env("LOTCHAIN_BENCH_NET_RATE", 0);
const CONCURRENCY_PER_NODE = env("LOTCHAIN_BENCH_NET_CONCURRENCY", 4);
const WINDOW_MS = env("LOTCHAIN_BENCH_NET_WINDOW_MS", 20_000);
const STEADY_FRACTION = env("LOTCHAIN_BENCH_NET_STEADY", 0.6);
const SEQUENTIAL = env("LOTCHAIN_BENCH_NET_SEQUENTIAL", 500);
/** Senders of the sequential phase: consecutive transfers come from different ones. */
const SEQUENTIAL_SENDERS = 50;
const NODE_FLAGS = (process.env.LOTCHAIN_BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f);
/** Extra `lotchain node` arguments for the devnet's nodes (e.g. "--verify-threads 0"). */
const NET_NODE_ARGS = (process.env.LOTCHAIN_BENCH_NET_NODE_ARGS ?? "").split(" ").filter((a) => a);
const SAT_WARMUP_MS = 5_000;
const STEADY_WARMUP_MS = 3_000;
/** How long the pools may take to empty after a phase (everything accepted gets included). */
const DRAIN_TIMEOUT_MS = 30_000;
/** Retry delay of a transfer refused because a mempool is full. */
const RETRY_MS = 25;

/** Milliseconds on the wall clock, sub-millisecond resolution (block timestamps are wall ms). */
const clock = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function seedOf(tag: number, i: number): Uint8Array {
  const seed = new Uint8Array(32).fill(tag);
  new DataView(seed.buffer).setUint32(0, i);
  return seed;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// ------------------------------------------------------------------ node processes

export interface NodeProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

export async function startNode(dir: string, args: string[]): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      CLI,
      "node",
      "--api-port",
      "0",
      "--p2p-port",
      "0",
      "--rate-limit",
      "0",
      "--log-level",
      "info",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "inherit"], cwd: dir },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const node = { child, url: "", exited };
  let buffer = "";
  const onData = (d: Buffer) => {
    buffer += d.toString();
  };
  child.stdout!.on("data", onData);
  try {
    node.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("a node did not start in 30 s")), 30_000);
      exited.then(() => reject(new Error(`a node exited with ${child.exitCode}`)));
      child.stdout!.on("data", () => {
        const m = /"url":"(http:[^"]+)"/.exec(buffer);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
  } catch (e) {
    await stopNode(node);
    throw e;
  }
  child.stdout!.removeAllListeners("data");
  child.stdout!.resume();
  return node;
}

export async function stopNode(node: NodeProcess): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill("SIGTERM");
  const timer = setTimeout(() => node.child.kill("SIGKILL"), 15_000);
  await node.exited;
  clearTimeout(timer);
}

/** User plus system CPU seconds of a process (Linux /proc). */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** CPU seconds all cores spent busy since boot, and those the hypervisor took (/proc/stat). */
export function machineCpuSeconds(): { busy: number; steal: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return { busy: (user! + nice! + system! + irq! + softirq!) / 100, steal: steal! / 100 };
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

interface Status {
  height: number;
  headHash: string;
  peers: number;
  listenAddresses: string[];
}

/** Event-loop delay p99 and max (seconds) since the last scrape: prom-client resets on collect. */
export async function eventLoopLag(url: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) =>
    Number(
      new RegExp(`^lotchain_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, "m").exec(text)?.[1],
    );
  return { p99: read("p99"), max: read("max") };
}

export async function waitFor(
  timeoutMs: number,
  done: () => Promise<boolean> | boolean,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

// ------------------------------------------------------------------ block arrivals (SSE)

interface SeenBlock {
  hash: string;
  previousHash: string;
  /** slot start, ms */
  timestamp: number;
  txIds: string[];
  /** arrival time of its `block` event (it became part of that node's chain), per node */
  arrivals: number[];
}

/**
 * Listens to every node's /v1/events (block and reorg events only: a stream that took transaction
 * events would have every node serialise every transaction for the harness) and keeps each
 * block's arrival time at each node, and per node the transactions of the blocks it applied.
 */
class BlockTap {
  readonly blocks = new Map<string, SeenBlock>();
  /** per node: ids of the transactions in blocks it applied */
  readonly applied: Set<string>[] = [];
  readonly reorgTimes: number[] = [];
  /** per node: when its stream ended before close() (NaN: never); the node dropped the tap */
  readonly lostAt: number[] = [];
  private closing = false;
  private readonly requests: ReturnType<typeof get>[] = [];

  async open(urls: string[]): Promise<void> {
    await Promise.all(urls.map((url, node) => this.listen(url, node)));
  }

  close(): void {
    this.closing = true;
    for (const req of this.requests) req.destroy();
  }

  private listen(url: string, node: number): Promise<void> {
    this.applied[node] = new Set();
    this.lostAt[node] = Number.NaN;
    const lost = () => {
      if (!this.closing && Number.isNaN(this.lostAt[node]!)) this.lostAt[node] = clock();
    };
    return new Promise((resolve, reject) => {
      const req = get(`${url}/v1/events?types=block,reorg`, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`events: ${res.statusCode}`));
        res.setEncoding("utf8");
        let buffer = "";
        let scanned = 0;
        res.on("data", (chunk: string) => {
          const at = clock();
          buffer += chunk;
          for (;;) {
            const end = buffer.indexOf("\n\n", scanned);
            if (end < 0) {
              scanned = Math.max(0, buffer.length - 1);
              break;
            }
            this.onEvent(buffer.slice(0, end), node, at);
            buffer = buffer.slice(end + 2);
            scanned = 0;
          }
        });
        res.on("error", lost);
        res.on("end", lost);
        res.on("close", lost);
        resolve();
      });
      req.on("error", reject);
      this.requests.push(req);
    });
  }

  private onEvent(text: string, node: number, at: number): void {
    if (text.startsWith("event: block\n")) {
      const json = JSON.parse(text.slice(text.indexOf("data: ") + 6)) as {
        hash: string;
        previousHash: string;
        timestamp: number;
        transactions: { id: string }[];
      };
      let block = this.blocks.get(json.hash);
      if (!block) {
        block = {
          hash: json.hash,
          previousHash: json.previousHash,
          timestamp: json.timestamp,
          txIds: json.transactions.map((t) => t.id),
          arrivals: new Array<number>(NODES).fill(Number.NaN),
        };
        this.blocks.set(json.hash, block);
      }
      // Applied again after a reorganisation: it keeps its first arrival.
      if (Number.isNaN(block.arrivals[node]!)) block.arrivals[node] = at;
      for (const id of block.txIds) this.applied[node]!.add(id);
    } else if (text.startsWith("event: reorg\n")) {
      this.reorgTimes.push(at);
    }
  }

  /** Hashes of the blocks on the chain ending at `head`, as far back as this tap saw. */
  chainOf(head: string): Set<string> {
    const out = new Set<string>();
    for (let b = this.blocks.get(head); b; b = this.blocks.get(b.previousHash)) out.add(b.hash);
    return out;
  }
}

// ------------------------------------------------------------------ load

interface Lane {
  url: string;
  agent: Agent;
  /** schedule indexes of the transfers sent through this node, in order */
  items: number[];
  next: number;
}

interface Load {
  bodies: string[];
  ids: string[];
  /** first submission time per schedule index (NaN: not submitted) */
  submitted: number[];
  accepted: Set<string>;
  /** per accepted submission: [sent at, round trip ms] */
  acks: [number, number][];
  rejected: Map<string, number>;
  retries: number;
}

function errorCode(body: string): string {
  try {
    return String((JSON.parse(body) as { error?: unknown }).error ?? "unknown");
  } catch {
    return "unparsable";
  }
}

/**
 * Offers the lanes' next transfers at `perSecond` (spread evenly over the lanes), at most
 * CONCURRENCY_PER_NODE requests in flight per node, until `stopAt`. A transfer refused for a
 * full mempool (or a rate limit) is retried, so no sender's nonces get a gap.
 */
async function drive(load: Load, lanes: Lane[], perSecond: number, stopAt: number): Promise<void> {
  const start = clock();
  const interval = (1000 * lanes.length) / perSecond;
  const firstItem = lanes.map((l) => l.next);
  const worker = async (lane: Lane, laneIndex: number) => {
    for (;;) {
      if (clock() >= stopAt || lane.next >= lane.items.length) return;
      const j = lane.next++;
      const wait = start + (j - firstItem[laneIndex]!) * interval - clock();
      if (wait > 1) await sleep(wait);
      const k = lane.items[j]!;
      load.submitted[k] = clock();
      for (;;) {
        const sent = clock();
        const res = await postJson(lane.agent, `${lane.url}/v1/transactions`, load.bodies[k]!);
        if (res.status === 202) {
          load.acks.push([sent, clock() - sent]);
          load.accepted.add(load.ids[k]!);
          break;
        }
        const code = res.status === 429 ? "RateLimited" : errorCode(res.text);
        if (code === "MempoolFull" || code === "RateLimited" || code === "SenderLimit") {
          load.retries++;
          await sleep(RETRY_MS);
          continue;
        }
        load.rejected.set(code, (load.rejected.get(code) ?? 0) + 1);
        break;
      }
    }
  };
  await Promise.all(
    lanes.flatMap((lane, i) => Array.from({ length: CONCURRENCY_PER_NODE }, () => worker(lane, i))),
  );
}

/** Signs schedule entries [from, to) in worker threads (every core), in order. */
async function signSchedule(
  from: number,
  to: number,
  senderSeeds: Uint8Array[],
): Promise<SignedRange> {
  const workers = Math.max(1, Math.min(availableParallelism(), 4));
  const step = Math.ceil((to - from) / workers);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const job: SignJob = {
        chainId: CHAIN,
        senderSeeds,
        from: Math.min(to, from + w * step),
        to: Math.min(to, from + (w + 1) * step),
      };
      return new Promise<SignedRange>((resolve, reject) => {
        const worker = new Worker(SIGN_WORKER, { workerData: { kind: "net-sign", job } });
        worker.once("message", resolve);
        worker.once("error", reject);
      });
    }),
  );
  return { ids: parts.flatMap((p) => p.ids), bodies: parts.flatMap((p) => p.bodies) };
}

// ------------------------------------------------------------------ the seed's workload

/**
 * The seed's workload (its Interaction.py posts transactions one after the other): one client
 * sends SEQUENTIAL transfers to node 1, each after the answer to the one before, on an idle
 * network; the time from the first send until every one is in a block on every node.
 */
async function sequentialPhase(
  url: string,
  tap: BlockTap,
  keys: KeyPair[],
): Promise<Record<string, number>> {
  const txs = Array.from({ length: SEQUENTIAL }, (_, k) => {
    const from = keys[k % keys.length]!;
    return signTransaction(
      {
        chainId: CHAIN,
        type: "TRANSFER",
        senderPublicKey: from.publicKey,
        receiver: keys[(k + 1) % keys.length]!.address,
        amount: 1n,
        fee: 1n,
        nonce: Math.floor(k / keys.length),
        timestamp: Date.now(),
      },
      from.privateKey,
    );
  });
  const bodies = txs.map((tx) => JSON.stringify(transactionToJson(tx)));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const acks: number[] = [];
  let refused = 0;
  const start = clock();
  try {
    for (const body of bodies) {
      const sent = clock();
      const res = await postJson(agent, `${url}/v1/transactions`, body);
      acks.push(clock() - sent);
      if (res.status !== 202) refused++;
    }
  } finally {
    agent.destroy();
  }
  const submitted = clock();
  const ids = txs.map((tx) => tx.id);
  const all = await waitFor(60_000, () =>
    ids.every((id) => tap.applied.every((applied) => applied.has(id))),
  );
  const included = clock();
  return {
    "net.seq.transfers": SEQUENTIAL,
    "net.seq.refused": refused,
    "net.seq.submitSeconds": round((submitted - start) / 1000, 2),
    "net.seq.apiAckP50Ms": round(percentile(acks, 50), 2),
    "net.seq.apiAckP99Ms": round(percentile(acks, 99), 2),
    // Until the last one is in a block on every node (NaN: not within 60 s).
    "net.seq.allIncludedSeconds": all ? round((included - start) / 1000, 2) : Number.NaN,
    "net.seq.includedTxPerSec": all ? round(SEQUENTIAL / ((included - start) / 1000)) : 0,
  };
}

// ------------------------------------------------------------------ figures

interface Window {
  start: number;
  end: number;
  offeredPerSec: number;
  /** node CPU seconds used in the window, per node */
  nodeCpu: number[];
  benchCpu: number;
  /** CPU seconds the whole machine was busy (every process) and those the hypervisor took */
  machineCpu: number;
  stealCpu: number;
  /** the nodes' event-loop delay in the window, seconds: worst p99 and worst max */
  lagP99: number;
  lagMax: number;
  /** gossip the nodes received in the window, summed over the nodes ("topic/unit/copy") */
  gossip: Map<string, number>;
}

/** The node's gossip counters (lotchain_gossip_received), keyed "topic/unit/copy". */
export async function gossipReceived(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  const re = /^lotchain_gossip_received\{([^}]*)\} (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries(
      [...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]),
    );
    out.set(`${labels.topic}/${labels.unit}/${labels.copy}`, Number(m[2]));
  }
  return out;
}

/** Sum over the nodes of what each counter grew by between two scrapes. */
function gossipGrowth(before: Map<string, number>[], after: Map<string, number>[]) {
  const sum = new Map<string, number>();
  after.forEach((counts, i) => {
    for (const [key, value] of counts)
      sum.set(key, (sum.get(key) ?? 0) + value - (before[i]!.get(key) ?? 0));
  });
  return sum;
}

/** What the run settled: the blocks in every node's final chain, and their transactions. */
interface Final {
  blocks: Set<string>;
  blockOf: Map<string, SeenBlock>;
}

function nodeCpuTotal(w: Window): number {
  return w.nodeCpu.reduce((a, b) => a + b, 0);
}

function phaseFigures(
  prefix: string,
  load: Load,
  tap: BlockTap,
  final: Final,
  w: Window,
  limits: {
    verifyLimit: number;
    rawVerifyMicros: number;
    rawVerifyCpuMicros: number;
    cores: number;
  },
): Record<string, number> {
  const seconds = (w.end - w.start) / 1000;
  const inWindow = (t: number) => t >= w.start && t < w.end;
  let included = 0;
  let accepted = 0;
  let notIncluded = 0;
  const latencyFirst: number[] = [];
  const latencyAll: number[] = [];
  for (let k = 0; k < load.submitted.length; k++) {
    const id = load.ids[k]!;
    const block = final.blockOf.get(id);
    const all = block ? Math.max(...block.arrivals) : Number.NaN;
    if (inWindow(all)) included++;
    const sent = load.submitted[k]!;
    if (!inWindow(sent) || !load.accepted.has(id)) continue;
    accepted++;
    if (!block || Number.isNaN(all)) {
      notIncluded++;
      continue;
    }
    latencyFirst.push(Math.min(...block.arrivals) - sent);
    latencyAll.push(all - sent);
  }
  const propagation: number[] = [];
  const slotToAll: number[] = [];
  let blocks = 0;
  let txs = 0;
  let forked = 0;
  for (const b of tap.blocks.values()) {
    const first = Math.min(...b.arrivals.filter((t) => !Number.isNaN(t)));
    if (!inWindow(first)) continue;
    if (!final.blocks.has(b.hash)) {
      forked++;
      continue;
    }
    blocks++;
    txs += b.txIds.length;
    const last = Math.max(...b.arrivals);
    if (Number.isNaN(last)) continue; // in every final chain, but applied before the tap opened
    propagation.push(last - first);
    slotToAll.push(last - b.timestamp);
  }
  const acks = load.acks.filter(([sent]) => inWindow(sent)).map(([, ms]) => ms);
  const g = (key: string) => w.gossip.get(key) ?? 0;
  const cpuBound = (limits.cores * included) / Math.max(1e-9, nodeCpuTotal(w) + w.benchCpu);
  const nodeCpu = w.nodeCpu.reduce((a, b) => a + b, 0);
  const perSec = included / seconds;
  const nodeCpuPerTx = nodeCpu / Math.max(1, included) / NODES; // seconds, one node
  const figures: Record<string, number> = {
    [`${prefix}.offeredTxPerSec`]: round(w.offeredPerSec),
    [`${prefix}.acceptedTxPerSec`]: round(accepted / seconds),
    [`${prefix}.includedTxPerSec`]: round(perSec),
    [`${prefix}.ratioToVerifyLimit`]: round(perSec / limits.verifyLimit, 3),
    [`${prefix}.apiAckP50Ms`]: round(percentile(acks, 50), 1),
    [`${prefix}.apiAckP99Ms`]: round(percentile(acks, 99), 1),
    [`${prefix}.latencyFirstNodeP50Ms`]: round(percentile(latencyFirst, 50)),
    [`${prefix}.latencyFirstNodeP99Ms`]: round(percentile(latencyFirst, 99)),
    [`${prefix}.latencyAllNodesP50Ms`]: round(percentile(latencyAll, 50)),
    [`${prefix}.latencyAllNodesP99Ms`]: round(percentile(latencyAll, 99)),
    [`${prefix}.latencyAllNodesP99Slots`]: round(percentile(latencyAll, 99) / SLOT_MS, 2),
    [`${prefix}.notIncluded`]: notIncluded,
    [`${prefix}.blocks`]: blocks,
    [`${prefix}.txPerBlock`]: round(txs / Math.max(1, blocks), 1),
    [`${prefix}.forkedBlocks`]: forked,
    [`${prefix}.reorgEvents`]: tap.reorgTimes.filter(inWindow).length,
    [`${prefix}.propagationP50Ms`]: round(percentile(propagation, 50), 1),
    [`${prefix}.propagationP99Ms`]: round(percentile(propagation, 99), 1),
    [`${prefix}.slotStartToAllNodesP50Ms`]: round(percentile(slotToAll, 50)),
    [`${prefix}.slotStartToAllNodesP99Ms`]: round(percentile(slotToAll, 99)),
    [`${prefix}.eventLoopLagP99Ms`]: round(w.lagP99 * 1000),
    [`${prefix}.eventLoopLagMaxMs`]: round(w.lagMax * 1000),
    // What one included transaction costs each node, in CPU and in raw verifications' worth
    // (the limit above assumes one).
    [`${prefix}.nodeCpuMicrosPerTx`]: round(nodeCpuPerTx * 1e6),
    [`${prefix}.nodeCpuPerTxInVerifications`]: round(
      (nodeCpuPerTx * 1e6) / limits.rawVerifyMicros,
      1,
    ),
    // Against the CPU time of one raw verification (what a shared machine does not distort).
    [`${prefix}.nodeCpuPerTxInCpuVerifications`]: round(
      (nodeCpuPerTx * 1e6) / limits.rawVerifyCpuMicros,
      2,
    ),
    // What the cores would include with nothing else running, from the CPU every included
    // transaction cost the four nodes and the load generator in this window, against the same
    // bound for the verification limit (cores / one verification's CPU time / 4 nodes): the
    // ratio a busy machine cannot show (its other load takes the cores the nodes would use).
    [`${prefix}.cpuBoundTxPerSec`]: round(cpuBound),
    [`${prefix}.cpuBoundRatioToVerifyLimit`]: round(
      cpuBound / ((limits.cores * 1e6) / limits.rawVerifyCpuMicros / NODES),
      3,
    ),
    [`${prefix}.nodesCpuCores`]: round(nodeCpu / seconds, 2),
    [`${prefix}.benchCpuCores`]: round(w.benchCpu / seconds, 2),
    // The load generator's share of all the CPU the machine spent in the window.
    [`${prefix}.benchCpuShare`]: round(w.benchCpu / Math.max(w.machineCpu, 1e-9), 3),
    // Everything else that ran meanwhile (the machine is shared): with a busy neighbour the
    // figures above are lower than this machine can do.
    [`${prefix}.otherCpuCores`]: round((w.machineCpu - nodeCpu - w.benchCpu) / seconds, 2),
    [`${prefix}.stealCpuCores`]: round(w.stealCpu / seconds, 2),
    // Copies on the wire: what a node received per transaction included (every copy of every tx
    // batch, items counted; the first copies alone), per block (every copy), and bytes of gossip
    // per transaction. Ideal: 0.75 copies of a transaction (each node gets the three quarters sent
    // to the other nodes once) and 1 of a block (less for the forger's own).
    [`${prefix}.txCopiesPerTx`]: round(g("tx/items/all") / Math.max(1, included) / NODES, 2),
    [`${prefix}.txFirstCopiesPerTx`]: round(g("tx/items/first") / Math.max(1, included) / NODES, 2),
    [`${prefix}.blockCopiesPerBlock`]: round(
      (g("block/messages/all") + g("cblock/messages/all")) / Math.max(1, blocks) / NODES,
      2,
    ),
    [`${prefix}.gossipBytesPerTx`]: round(
      [...w.gossip].filter(([k]) => k.endsWith("/bytes/all")).reduce((a, [, v]) => a + v, 0) /
        Math.max(1, included) /
        NODES,
    ),
  };
  return figures;
}

// ------------------------------------------------------------------ the benchmark

export async function run(): Promise<Record<string, number>> {
  const cores = availableParallelism();
  const senderSeeds = Array.from({ length: SENDERS }, (_, i) => seedOf(0xb1, i));
  const senders = senderSeeds.map((seed) => keyPairFromSeed(seed));
  const sequentialSenders = Array.from({ length: SEQUENTIAL_SENDERS }, (_, i) =>
    keyPairFromSeed(seedOf(0xb3, i)),
  );
  const validators = Array.from({ length: NODES }, (_, i) => keyPairFromSeed(seedOf(0xb2, i)));

  // The raw limit: one core's Ed25519 verifications of real transfers, in this process.
  const sample = Array.from({ length: 256 }, (_, i) => {
    const tx = signTransaction(
      {
        chainId: CHAIN,
        type: "TRANSFER",
        senderPublicKey: senders[i]!.publicKey,
        receiver: senders[i + 1]!.address,
        amount: 1n,
        fee: 1n,
        nonce: 0,
        timestamp: Date.now(),
      },
      senders[i]!.privateKey,
    );
    return { key: publicKeyObject(tx.senderPublicKey), msg: transactionSigningBytes(tx), tx };
  });
  let v = 0;
  const rawVerify = () => {
    const r = sample[v++ % sample.length]!;
    return verify(null, r.msg, r.key, r.tx.signature);
  };
  const before = rateAndCpu(1000, rawVerify);
  const rawBefore = before.perSec;

  const dir = mkdtempSync(join(tmpdir(), "lotchain-bench-net-"));
  const nodes: NodeProcess[] = [];
  const agents: Agent[] = [];
  const tap = new BlockTap();
  try {
    // Transfer k of the schedule: sender k mod S, nonce floor(k / S), sent through node
    // (k mod S) mod 4. Signed for the whole sat phase at the offered rate.
    const offered = OFFERED_PER_SEC > 0 ? OFFERED_PER_SEC : (rawBefore * cores) / NODES;
    const supply = Math.ceil((offered * (SAT_WARMUP_MS + WINDOW_MS)) / 1000);
    const signStart = performance.now();
    const signed = await signSchedule(0, supply, senderSeeds);
    const signSeconds = (performance.now() - signStart) / 1000;
    const load: Load = {
      bodies: signed.bodies,
      ids: signed.ids,
      submitted: new Array<number>(supply).fill(Number.NaN),
      accepted: new Set(),
      acks: [],
      rejected: new Map(),
      retries: 0,
    };

    const genesis = join(dir, "genesis.json");
    writeFileSync(
      genesis,
      JSON.stringify({
        chainId: CHAIN,
        timestamp: Date.now(),
        consensus: { type: "pos", slotMs: SLOT_MS, finalityDepth: 64 },
        alloc: Object.fromEntries(
          [...senders, ...sequentialSenders].map((s) => [s.address, "1000000000"]),
        ),
        validators: Object.fromEntries(validators.map((k) => [k.address, "1000"])),
        exchange: [],
        blockReward: "0",
        minFee: "1",
      }),
    );
    const nodeArgs = (i: number) => {
      const keyFile = join(dir, `validator${i + 1}.pem`);
      writeKeyFile(keyFile, validators[i]!);
      return [
        "--genesis",
        genesis,
        "--key",
        keyFile,
        "--data-dir",
        join(dir, `node${i + 1}`),
        ...NET_NODE_ARGS,
      ];
    };
    nodes.push(await startNode(dir, nodeArgs(0)));
    const first = await getJson<Status>(`${nodes[0]!.url}/v1/status`);
    const bootstrap = first.listenAddresses[0]!;
    for (let i = 1; i < NODES; i++)
      nodes.push(await startNode(dir, [...nodeArgs(i), "--bootstrap", bootstrap]));
    const urls = nodes.map((n) => n.url);
    const connected = await waitFor(30_000, async () => {
      const all = await Promise.all(urls.map((u) => getJson<Status>(`${u}/v1/status`)));
      return all.every((s) => s.peers >= NODES - 1);
    });
    if (!connected) throw new Error("the 4 nodes did not all connect in 30 s");
    await sleep(2_000); // a few gossipsub heartbeats: every node knows its peers' topics
    await tap.open(urls);

    const lanes: Lane[] = urls.map((url) => ({
      url,
      agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY_PER_NODE }),
      items: [],
      next: 0,
    }));
    for (const lane of lanes) agents.push(lane.agent);
    const addToLanes = (from: number) => {
      for (let k = from; k < load.ids.length; k++) lanes[(k % SENDERS) % NODES]!.items.push(k);
    };
    addToLanes(0);

    const pids = nodes.map((n) => n.child.pid!);
    const phase = async (perSecond: number, warmupMs: number): Promise<Window> => {
      const loaded = drive(load, lanes, perSecond, clock() + warmupMs + WINDOW_MS);
      await sleep(warmupMs);
      await Promise.all(urls.map(eventLoopLag)); // resets the nodes' event-loop histograms
      const gossip0 = await Promise.all(urls.map(gossipReceived));
      const start = clock();
      const cpu0 = pids.map(processCpuSeconds);
      const machine0 = machineCpuSeconds();
      const bench0 = process.cpuUsage();
      await Promise.race([sleep(WINDOW_MS), loaded]);
      const end = clock();
      const nodeCpu = pids.map((pid, i) => processCpuSeconds(pid) - cpu0[i]!);
      const machine = machineCpuSeconds();
      const bench = process.cpuUsage(bench0);
      const lags = await Promise.all(urls.map(eventLoopLag));
      const gossip = gossipGrowth(gossip0, await Promise.all(urls.map(gossipReceived)));
      await loaded;
      // Let the pools empty: every accepted transfer in the chain of every node.
      await waitFor(DRAIN_TIMEOUT_MS, () =>
        [...load.accepted].every((id) => tap.applied.every((ids) => ids.has(id))),
      );
      return {
        start,
        end,
        offeredPerSec: perSecond,
        nodeCpu,
        benchCpu: (bench.user + bench.system) / 1e6,
        machineCpu: machine.busy - machine0.busy,
        stealCpu: machine.steal - machine0.steal,
        lagP99: Math.max(...lags.map((l) => l.p99)),
        lagMax: Math.max(...lags.map((l) => l.max)),
        gossip,
      };
    };
    // Provisional (forks not settled yet): enough to pick the steady phase's rate.
    const includedPerSec = (w: Window) => {
      let n = 0;
      for (const b of tap.blocks.values()) {
        const all = Math.max(...b.arrivals);
        if (all >= w.start && all < w.end) n += b.txIds.length;
      }
      return n / ((w.end - w.start) / 1000);
    };

    const sequential =
      SEQUENTIAL > 0 ? await sequentialPhase(urls[0]!, tap, sequentialSenders) : undefined;
    const sat = await phase(offered, SAT_WARMUP_MS);
    let steady: Window | undefined;
    if (STEADY_FRACTION > 0) {
      const perSecond = Math.max(NODES, includedPerSec(sat) * STEADY_FRACTION);
      // Sign what the steady phase needs beyond what sat left over (before its clock starts).
      const needed = Math.ceil((perSecond * (STEADY_WARMUP_MS + WINDOW_MS)) / 1000) + 1000;
      const left = Math.min(...lanes.map((l) => l.items.length - l.next)) * NODES;
      if (left < needed) {
        const from = load.ids.length;
        const more = await signSchedule(from, from + needed - left, senderSeeds);
        load.ids.push(...more.ids);
        load.bodies.push(...more.bodies);
        load.submitted.push(...more.ids.map(() => Number.NaN));
        addToLanes(from);
      }
      steady = await phase(perSecond, STEADY_WARMUP_MS);
    }

    // Every node's final chain: a transfer counts once it is in all of them.
    const heads = await Promise.all(urls.map((u) => getJson<Status>(`${u}/v1/status`)));
    const chains = heads.map((h) => tap.chainOf(h.headHash));
    const final: Final = {
      blocks: new Set([...chains[0]!].filter((h) => chains.every((c) => c.has(h)))),
      blockOf: new Map(),
    };
    for (const hash of final.blocks) {
      const block = tap.blocks.get(hash)!;
      for (const id of block.txIds) final.blockOf.set(id, block);
    }

    const after = rateAndCpu(1000, rawVerify);
    const raw = median([rawBefore, after.perSec]);
    const limits = {
      verifyLimit: (raw * cores) / NODES,
      rawVerifyMicros: 1e6 / raw,
      rawVerifyCpuMicros: median([before.cpuMicros, after.cpuMicros]),
      cores,
    };
    const figures: Record<string, number> = {
      "net.nodes": NODES,
      "net.slotMs": SLOT_MS,
      "net.senders": SENDERS,
      "net.concurrencyPerNode": CONCURRENCY_PER_NODE,
      "net.windowSec": WINDOW_MS / 1000,
      "net.rawVerifyPerSecOneCore": round(raw),
      "net.rawVerifyMicros": round(limits.rawVerifyMicros),
      "net.rawVerifyCpuMicros": round(limits.rawVerifyCpuMicros, 1),
      "net.verifyLimitTxPerSec": round(limits.verifyLimit),
      "net.presignedTxPerSec": round(supply / signSeconds),
      ...phaseFigures("net.sat", load, tap, final, sat, limits),
      ...(steady ? phaseFigures("net.steady", load, tap, final, steady, limits) : {}),
      ...(sequential ?? {}),
      // Block streams a node ended before the harness closed them (it drops a client whose
      // unread events pass its buffer limit): blocks that node applied after are not seen, so
      // the phases' figures after that moment are not sound; the seconds after the sat phase's
      // window start when the first ended (NaN: none did).
      "net.tapStreamsLost": tap.lostAt.filter((t) => !Number.isNaN(t)).length,
      "net.tapFirstLostSecondsAfterSatStart": round(
        (Math.min(...tap.lostAt.map((t) => (Number.isNaN(t) ? Number.POSITIVE_INFINITY : t))) -
          sat.start) /
          1000,
        1,
      ),
      "net.headsAgree": new Set(heads.map((h) => h.headHash)).size === 1 ? 1 : 0,
      "net.notDrained": [...load.accepted].filter((id) => !final.blockOf.has(id)).length,
      "net.retriesMempoolFull": load.retries,
      "net.rejected": [...load.rejected.values()].reduce((a, b) => a + b, 0),
    };
    for (const [code, n] of load.rejected) figures[`net.rejected.${code}`] = n;
    return figures;
  } finally {
    tap.close();
    for (const agent of agents) agent.destroy();
    await Promise.all(nodes.map(stopNode));
    rmSync(dir, { recursive: true, force: true });
  }
}

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach } from "vitest";
import { type KeyPair, privateKeyToPem } from "../../src/core/keys.js";
import { type Transaction, transactionToJson } from "../../src/core/transaction.js";
import { CLI, getJson, postJson, REPO } from "./node-process.js";

/**
 * Real `lotchain node` processes on 127.0.0.1 for the multi-node tests (test/network/).
 *
 * Every process is registered before it is waited on, so cleanup() stops it by pid whatever
 * happened (a node that never became ready, a failed assertion). Two last resorts: an exit hook
 * of the test process, and a preload in each child (exit-with-parent.ts) that kills the child
 * when the test process dies without cleaning up (a worker killed by vitest or by hand). Ports
 * are always 0: each node reports its own.
 */

/** Every child started here and not yet reaped, for the exit hook. */
const alive = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of alive) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** The preload that makes a child die with the test process (compiled next to this file). */
const EXIT_WITH_PARENT = join(REPO, "dist", "test", "helpers", "exit-with-parent.js");

/** Spawns node with the exit-with-parent preload and piped stdio. */
function spawnWithParent(args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", EXIT_WITH_PARENT, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
}

export interface ClusterNode {
  name: string;
  dataDir: string;
  /** the CLI flags it was started with (for a restart with the same data dir) */
  args: string[];
  child: ChildProcess;
  pid: number;
  apiUrl: string;
  /** libp2p listen multiaddrs, ending in /p2p/<peerId> */
  p2pAddresses: string[];
  peerId: string;
  /** the last log lines (stdout and stderr), for failure reports */
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  /** validator / miner key; none: a full node */
  key?: KeyPair;
  /** peers to bootstrap from (their first listen address) */
  bootstrap?: ClusterNode[];
  /** reuse a data dir (a restart); default: a fresh one named after the node */
  dataDir?: string;
  forgeEmptyBlocks?: boolean;
  adminToken?: string;
  extra?: string[];
  timeoutMs?: number;
}

const LOG_LINES_KEPT = 400;

export class Cluster {
  readonly dir: string;
  readonly genesisFile: string;
  readonly nodes: ClusterNode[] = [];
  readonly #keyFiles = new Map<string, string>();
  readonly #deferred: (() => Promise<unknown> | unknown)[] = [];

  constructor(genesis: object, prefix = "lotchain-network-") {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.genesisFile = join(this.dir, "genesis.json");
    writeFileSync(this.genesisFile, JSON.stringify(genesis, null, 2));
  }

  /** Runs `fn` at cleanup, before the processes are killed (e.g. stops an in-process peer). */
  defer(fn: () => Promise<unknown> | unknown): void {
    this.#deferred.push(fn);
  }

  /** Writes the key as a 0600 PEM file once; returns its path. */
  keyFile(key: KeyPair): string {
    let file = this.#keyFiles.get(key.address);
    if (file === undefined) {
      file = join(this.dir, `${key.address}.pem`);
      writeFileSync(file, privateKeyToPem(key.privateKey), { mode: 0o600 });
      this.#keyFiles.set(key.address, file);
    }
    return file;
  }

  /** Starts `lotchain node` and resolves once GET /v1/status answers 200. */
  async start(name: string, opts: StartOptions = {}): Promise<ClusterNode> {
    const dataDir = opts.dataDir ?? join(this.dir, name);
    mkdirSync(dataDir, { recursive: true });
    const args = [
      "node",
      "--data-dir",
      dataDir,
      "--genesis",
      this.genesisFile,
      "--api-port",
      "0",
      "--p2p-port",
      "0",
      "--log-level",
      "info",
    ];
    if (opts.key) args.push("--key", this.keyFile(opts.key));
    for (const peer of opts.bootstrap ?? []) args.push("--bootstrap", peer.p2pAddresses[0]!);
    if (opts.forgeEmptyBlocks) args.push("--forge-empty-blocks");
    if (opts.adminToken) args.push("--admin-token", opts.adminToken);
    args.push(...(opts.extra ?? []));
    return this.#spawn(name, dataDir, args, opts.timeoutMs ?? 30_000);
  }

  /** Starts a node again with the flags and data dir of an earlier one (stopped or killed). */
  async restart(node: ClusterNode, timeoutMs = 30_000): Promise<ClusterNode> {
    if (node.child.exitCode === null && node.child.signalCode === null)
      throw new Error(`${node.name} is still running`);
    return this.#spawn(node.name, node.dataDir, node.args, timeoutMs);
  }

  async #spawn(
    name: string,
    dataDir: string,
    args: string[],
    timeoutMs: number,
  ): Promise<ClusterNode> {
    const child = spawnWithParent([CLI, ...args]);
    alive.add(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => {
        alive.delete(child);
        resolve({ code, signal });
      }),
    );
    const node: ClusterNode = {
      name,
      dataDir,
      args,
      child,
      pid: child.pid ?? -1,
      apiUrl: "",
      p2pAddresses: [],
      peerId: "",
      logs: [],
      exited,
    };
    this.nodes.push(node);
    const keep = (line: string) => {
      node.logs.push(line);
      if (node.logs.length > LOG_LINES_KEPT) node.logs.splice(0, node.logs.length - LOG_LINES_KEPT);
    };
    let buffer = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        keep(line);
        if (node.apiUrl && node.p2pAddresses.length > 0) continue;
        try {
          const entry = JSON.parse(line);
          if (entry.url && /API listening/.test(entry.msg)) node.apiUrl = entry.url;
          if (Array.isArray(entry.listen) && /p2p listening/.test(entry.msg))
            node.p2pAddresses = entry.listen;
        } catch {
          // not a JSON log line
        }
      }
    });
    child.stderr!.on("data", (d: Buffer) => keep(`[stderr] ${d.toString().trimEnd()}`));

    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${name} exited while starting:\n${node.logs.join("\n")}`);
      if (Date.now() > deadline)
        throw new Error(`${name} did not start in ${timeoutMs} ms:\n${node.logs.join("\n")}`);
      if (node.apiUrl) {
        const status = await getJson(`${node.apiUrl}/v1/status`).catch(() => undefined);
        if (status?.status === 200) {
          node.peerId = status.body.peerId;
          break;
        }
      }
      await sleep(50);
    }
    if (node.p2pAddresses.length === 0)
      throw new Error(`${name} did not log its p2p addresses:\n${node.logs.join("\n")}`);
    return node;
  }

  /** SIGKILL, and wait for the exit. */
  async kill(node: ClusterNode): Promise<void> {
    if (node.child.exitCode === null && node.child.signalCode === null)
      process.kill(node.pid, "SIGKILL");
    await node.exited;
  }

  /** SIGTERM (a clean stop), SIGKILL after `graceMs`; resolves with the exit. */
  async stop(node: ClusterNode, graceMs = 15_000) {
    if (node.child.exitCode === null && node.child.signalCode === null)
      process.kill(node.pid, "SIGTERM");
    const timer = setTimeout(() => {
      if (node.child.exitCode === null && node.child.signalCode === null)
        process.kill(node.pid, "SIGKILL");
    }, graceMs);
    const result = await node.exited;
    clearTimeout(timer);
    return result;
  }

  /**
   * Kills every process this cluster started (by pid) and removes its files. With `failed`, the
   * files stay and the last log lines of every node go to stderr.
   */
  async cleanup(failed = false): Promise<void> {
    for (const fn of this.#deferred.splice(0).reverse())
      await (async () => fn())().catch(() => undefined);
    await Promise.all(this.nodes.map((node) => this.kill(node).catch(() => undefined)));
    if (failed) {
      for (const node of this.nodes)
        process.stderr.write(
          `\n----- ${node.name} (pid ${node.pid}, ${node.apiUrl}) last log lines -----\n` +
            node.logs.slice(-60).join("\n") +
            "\n",
        );
      process.stderr.write(`(cluster files kept in ${this.dir})\n`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

// ------------------------------------------------------------------ API helpers

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Status {
  chainId: string;
  height: number;
  headHash: string;
  finalizedHeight: number;
  peerId: string;
  peers: number;
  syncing: boolean;
  mempoolSize?: number;
}

async function get<T = any>(node: ClusterNode, path: string): Promise<T> {
  const { status, body } = await getJson<T>(`${node.apiUrl}${path}`);
  if (status !== 200)
    throw new Error(`${node.name} GET ${path}: ${status} ${JSON.stringify(body)}`);
  return body;
}

export function status(node: ClusterNode): Promise<Status> {
  return get<Status>(node, "/v1/status");
}

export interface Account {
  address: string;
  balance: string;
  stake: string;
  nonce: number;
  pendingNonce: number;
  unbonding: { amount: string; releaseSlot: number }[];
  slashed: boolean;
}

export function account(node: ClusterNode, address: string): Promise<Account> {
  return get<Account>(node, `/v1/accounts/${address}`);
}

export interface BlockJson {
  height: number;
  hash: string;
  previousHash: string;
  forger: string;
  transactions: { id: string; type: string; amount: string; fee: string }[];
  timestamp: number;
  slot?: number;
  randomness?: string;
  stateRoot?: string;
  vrfProof?: string;
  nonce?: string;
  target?: string;
  evidence?: { id: string; offender: string; slot: number }[];
}

export function block(node: ClusterNode, id: number | string): Promise<BlockJson> {
  return get<BlockJson>(node, `/v1/blocks/${id}`);
}

/** Blocks from..to (inclusive) in height order. */
export async function blocks(node: ClusterNode, from: number, to: number): Promise<BlockJson[]> {
  const out: BlockJson[] = [];
  for (let h = from; h <= to; ) {
    const limit = Math.min(1000, to - h + 1);
    const page = (await get<{ blocks: BlockJson[] }>(node, `/v1/blocks?from=${h}&limit=${limit}`))
      .blocks;
    if (page.length === 0) break;
    out.push(...page);
    h += page.length;
  }
  return out;
}

export async function peers(node: ClusterNode): Promise<string[]> {
  const body = await get<any>(node, "/v1/peers");
  const list: any[] = Array.isArray(body) ? body : body.peers;
  return list.map((p) => p.peerId);
}

/** A transaction as the node sees it: status "pending" or "included" (404: unknown → undefined). */
export async function transaction(
  node: ClusterNode,
  id: string,
): Promise<{ status: string; height?: number; blockHash?: string } | undefined> {
  const { status: code, body } = await getJson(`${node.apiUrl}/v1/transactions/${id}`);
  if (code === 404) return undefined;
  if (code !== 200) throw new Error(`${node.name} GET /v1/transactions/${id}: ${code}`);
  return body;
}

/** POST /v1/transactions; throws unless 202. */
export async function submit(node: ClusterNode, tx: Transaction): Promise<string> {
  const { status: code, body } = await postJson(
    `${node.apiUrl}/v1/transactions`,
    transactionToJson(tx),
  );
  if (code !== 202)
    throw new Error(`${node.name} refused ${tx.id}: ${code} ${JSON.stringify(body)}`);
  return body.id;
}

/** An admin route (the node runs with --admin-token). */
export async function admin(
  node: ClusterNode,
  token: string,
  action: "ban" | "unban",
  peerId: string,
  body?: { ms: number },
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${node.apiUrl}/v1/admin/peers/${peerId}/${action}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The value of a Prometheus sample (the sum over series matching the labels given), 0 if none. */
export async function metric(
  node: ClusterNode,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const res = await fetch(`${node.apiUrl}/metrics`);
  const text = await res.text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const series = m[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`)))
      total += Number(m[3]);
  }
  return total;
}

/** Polls `check` until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (lastError ? ` (last error: ${(lastError as Error).message})` : ""),
      );
    await sleep(intervalMs);
  }
}

/** Waits until every node's height is at least `height`. */
export function heightsReach(nodes: ClusterNode[], height: number, timeoutMs: number) {
  return eventually(
    `${nodes.map((n) => n.name).join(", ")} at height ${height}`,
    async () => {
      const all = await Promise.all(nodes.map(status));
      return all.every((s) => s.height >= height) && all;
    },
    timeoutMs,
  );
}

/**
 * Waits until every node has the same block at `height` (so they share one chain up to it) and
 * returns its hash.
 */
export function agreeAt(nodes: ClusterNode[], height: number, timeoutMs: number) {
  return eventually(
    `${nodes.map((n) => n.name).join(", ")} agreeing on block ${height}`,
    async () => {
      const hashes = await Promise.all(nodes.map(async (n) => (await block(n, height)).hash));
      return hashes.every((h) => h === hashes[0]) && hashes[0];
    },
    timeoutMs,
  );
}

/** Waits until every node reports the same head at one moment; returns it. */
export function sameHead(nodes: ClusterNode[], timeoutMs: number) {
  return eventually(
    `${nodes.map((n) => n.name).join(", ")} on one head`,
    async () => {
      const all = await Promise.all(nodes.map(status));
      return all.every((s) => s.headHash === all[0]!.headHash) && all[0]!;
    },
    timeoutMs,
  );
}

/** Waits until every node is connected to all the others (by /v1/peers). */
export function fullyConnected(nodes: ClusterNode[], timeoutMs: number) {
  return eventually(
    "every node connected to every other",
    async () => {
      for (const node of nodes) {
        const connected = new Set(await peers(node));
        for (const other of nodes) if (other !== node && !connected.has(other.peerId)) return false;
      }
      return true;
    },
    timeoutMs,
  );
}

// ------------------------------------------------------------------ genesis and lifecycle

export interface GenesisSpec {
  chainId: string;
  consensus:
    | {
        type: "pos";
        slotMs: number;
        finalityDepth: number;
        epochSlots?: number;
        unbondingSlots?: number;
        slashMillionths?: number;
        reporterMillionths?: number;
      }
    | { type: "pow"; targetBlockMs: number; initialTarget: string };
  validators?: [KeyPair, bigint | number][];
  alloc?: [KeyPair | string, bigint | number][];
  exchange?: KeyPair[];
  blockReward?: bigint | number;
  minFee?: bigint | number;
  /** default: now (slot 0 starts as the test starts) */
  timestamp?: number;
}

const addressOf = (k: KeyPair | string) => (typeof k === "string" ? k : k.address);

/** A genesis file's JSON (SPEC section 5) from keys and amounts. */
export function genesisJson(spec: GenesisSpec): object {
  return {
    chainId: spec.chainId,
    timestamp: spec.timestamp ?? Date.now(),
    consensus: spec.consensus,
    alloc: Object.fromEntries((spec.alloc ?? []).map(([k, v]) => [addressOf(k), String(v)])),
    validators: Object.fromEntries((spec.validators ?? []).map(([k, v]) => [k.address, String(v)])),
    exchange: (spec.exchange ?? []).map((k) => k.address),
    blockReward: String(spec.blockReward ?? 0),
    minFee: String(spec.minFee ?? 0),
  };
}

/**
 * Registers the cleanup of the clusters a test file creates: after each test (default) or after
 * the describe block ("all", for tests that go on from where the previous one stopped). Every
 * process is killed by pid and the files are removed; when a test failed, the files stay and the
 * nodes' last log lines go to stderr.
 */
export function useClusters(scope: "each" | "all" = "each"): (genesis: object) => Cluster {
  const created: Cluster[] = [];
  let failed = false;
  const cleanup = () => Promise.all(created.splice(0).map((c) => c.cleanup(failed)));
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") failed = true;
    if (scope === "each") await cleanup();
  });
  if (scope === "all") afterAll(cleanup);
  return (genesis) => {
    const cluster = new Cluster(genesis);
    created.push(cluster);
    return cluster;
  };
}

/**
 * Runs a lotchain CLI command to completion (killed by pid after `timeoutMs`, or with the test
 * process); resolves with its exit code and output.
 */
export function runLotchain(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnWithParent([CLI, ...args]);
    alive.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
      stdout += d;
    });
    child.stderr!.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
      reject(new Error(`lotchain ${args.join(" ")} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      alive.delete(child);
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

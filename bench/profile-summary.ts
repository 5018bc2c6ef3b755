import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Where a node's CPU goes, from the V8 CPU profiles `node --cpu-prof` writes (one a thread: the
 * event loop and each worker), in microseconds of self time per transaction, by category.
 *
 *   node dist/bench/profile-summary.js <profile dir> <transactions> [--window REGEX] [--top N]
 *     [--scale MICROS] [--stages] [--json]
 *
 * Each sample's time is charged to the function on top of the stack, and the function to a
 * category by its script URL and name (the first rule that matches). Idle time is left out;
 * "(program)" is V8 and native code no JavaScript frame is on top of (the HTTP parser's native
 * part, libuv, TLS-free sockets), "(garbage collector)" is GC.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const CATEGORIES: [string, (url: string, name: string) => boolean][] = [
  ["idle", (_u, n) => n === "(idle)"],
  ["garbage collection", (_u, n) => n === "(garbage collector)"],
  [
    "Ed25519 verify (node:crypto)",
    (u, n) => u.includes("node:internal/crypto/sig") || (n === "verify" && u.includes("crypto")),
  ],
  ["hashing (node:crypto)", (u) => u.includes("node:internal/crypto/hash")],
  ["other node:crypto", (u) => u.includes("node:internal/crypto")],
  [
    "noise encryption (libp2p)",
    (u) => /@chainsafe\/libp2p-noise|@libp2p\/noise|@noble\/ciphers|chacha|poly1305/.test(u),
  ],
  ["yamux (libp2p)", (u) => u.includes("yamux")],
  ["gossipsub (libp2p)", (u) => u.includes("gossipsub")],
  [
    "protobuf / varint / streams (libp2p)",
    (u) => /protons|uint8arraylist|it-|varint|@libp2p\/utils|multiformats|uint8arrays/.test(u),
  ],
  ["other libp2p", (u) => u.includes("libp2p")],
  [
    "LevelDB (classic-level)",
    (u) => /classic-level|abstract-level|level-transcoder|module-error/.test(u),
  ],
  [
    "Fastify and plugins",
    (u) =>
      /fastify|find-my-way|avvio|light-my-request|@fastify|secure-json-parse|fast-json-stringify|fast-querystring/.test(
        u,
      ),
  ],
  ["JSON schema (ajv)", (u) => u.includes("ajv")],
  [
    "HTTP (node:http, net, streams)",
    (u) =>
      /node:_http|node:http|node:net|node:internal\/streams|node:stream|node:internal\/http|node:_stream/.test(
        u,
      ),
  ],
  ["Prometheus (prom-client)", (u) => u.includes("prom-client")],
  ["logging (pino)", (u) => u.includes("pino")],
  ["lotchain core (encoding, hashing, state)", (u) => u.includes("/src/core/")],
  ["lotchain chain (mempool, import, cache, pool)", (u) => u.includes("/src/chain/")],
  ["lotchain consensus", (u) => u.includes("/src/consensus/")],
  ["lotchain net", (u) => u.includes("/src/net/")],
  ["lotchain api", (u) => u.includes("/src/api/")],
  ["lotchain node", (u) => u.includes("/src/node/")],
  ["@noble (VRF, hashes)", (u) => u.includes("@noble")],
  ["node internals (timers, promises, events, workers)", (u) => u.startsWith("node:")],
  ["V8 and native (program)", (_u, n) => n === "(program)"],
  ["JSON.parse / stringify and builtins", (u) => u === ""],
  ["other", () => true],
];

function categoryOf(url: string, name: string): string {
  for (const [category, test] of CATEGORIES) if (test(url, name)) return category;
  return "other";
}

/**
 * Stages of a node's work (--stages): a sample goes to the stage of the first frame, from the
 * top of its stack down, that a rule claims, so that a hash computed for the state tree counts
 * as state tree and a JSON.parse under a route handler as HTTP. Rules in order: the first that
 * matches a frame wins. Shared helpers (canonical CBOR, hashes, hex, keys) are claimed by no rule:
 * their callers' stages get them.
 */
const STAGES: [string, (url: string, name: string) => boolean][] = [
  ["idle", (_u, n) => n === "(idle)"],
  ["garbage collection", (_u, n) => n === "(garbage collector)"],
  [
    "signature verification (pool, cache)",
    (u) =>
      /\/src\/chain\/(verify-worker|verify-pool|signatures)\.|node:internal\/crypto\/sig/.test(u),
  ],
  [
    "LevelDB (store, codec)",
    (u) => /classic-level|abstract-level|level-transcoder|\/src\/store\//.test(u),
  ],
  ["state tree", (u) => /\/src\/core\/smt\.|\/src\/chain\/state-tree\./.test(u)],
  ["mempool", (u) => u.includes("/src/chain/mempool")],
  [
    "block import and production (checks, state transition, consensus)",
    (u) =>
      /\/src\/chain\/(chain-import|chain|block-checks|connect|fork-choice|account-state|snapshots|orphan-pool)\.|\/src\/core\/state\.|\/src\/consensus\//.test(
        u,
      ),
  ],
  [
    "decoding, encoding, ids",
    (u) => /\/src\/core\/(transaction|block|header)\.|\/src\/net\/(wire|compact-block)\./.test(u),
  ],
  [
    "HTTP API",
    (u) =>
      /\/src\/api\/|fastify|find-my-way|avvio|secure-json-parse|fast-json-stringify|ajv|fast-querystring|node:_http|node:http/.test(
        u,
      ),
  ],
  [
    "libp2p receive and relay",
    (u) =>
      /libp2p|yamux|noise|gossipsub|chacha|poly1305|protons|uint8arraylist|it-|multiformats|\/src\/net\//.test(
        u,
      ),
  ],
  ["metrics and logs", (u) => /prom-client|pino/.test(u)],
  ["node (admission, events)", (u) => u.includes("/src/node/")],
];

function stageOf(frames: ProfileNode["callFrame"][]): string {
  for (const f of frames)
    for (const [stage, test] of STAGES) if (test(f.url, f.functionName)) return stage;
  return frames[0]?.functionName === "(program)"
    ? "V8 and native (program)"
    : "other (streams, timers, builtins)";
}

export interface ProfileSummary {
  /** self microseconds by category, summed over every profile (thread) */
  byCategory: Map<string, number>;
  /** self microseconds by function ("name url:line") */
  byFunction: Map<string, number>;
  /** per profile file: its busy microseconds (idle left out) */
  threads: { file: string; busyMicros: number; wallMicros: number }[];
}

/**
 * `window`: a pattern of script URLs; in each profile where some sample's top frame matches, only
 * the samples from the first such to the last count (the node's start-up and stop are left out).
 */
export function summarize(dir: string, window?: RegExp, stages = false): ProfileSummary {
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const threads: ProfileSummary["threads"] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as Profile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parents = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
    const stageMemo = new Map<number, string>();
    const stageOfSample = (id: number): string => {
      let stage = stageMemo.get(id);
      if (stage === undefined) {
        const frames: ProfileNode["callFrame"][] = [];
        for (let at: number | undefined = id; at !== undefined; at = parents.get(at))
          frames.push(nodes.get(at)!.callFrame);
        stage = stageOf(frames);
        stageMemo.set(id, stage);
      }
      return stage;
    };
    // V8 names a worker thread's profile <pid>.<thread>.<seq>: thread 0 is the event loop.
    const thread = /\.0\.\d+\.cpuprofile$/.test(file) ? "event loop" : "workers";
    let first = 0;
    let last = profile.samples.length - 1;
    if (window) {
      const hits = profile.samples
        .map((id, i) => (window.test(nodes.get(id)!.callFrame.url) ? i : -1))
        .filter((i) => i >= 0);
      if (hits.length > 0) {
        first = hits[0]!;
        last = hits[hits.length - 1]!;
      }
    }
    let busy = 0;
    let wall = 0;
    for (let i = first; i <= last; i++) {
      wall += profile.timeDeltas[i] ?? 0;
      const node = nodes.get(profile.samples[i]!)!;
      const micros = profile.timeDeltas[i] ?? 0;
      const { functionName, url, lineNumber } = node.callFrame;
      const category = stages
        ? `${thread}: ${stageOfSample(profile.samples[i]!)}`
        : categoryOf(url, functionName);
      if (category === "idle" || category.endsWith(": idle")) continue;
      busy += micros;
      byCategory.set(category, (byCategory.get(category) ?? 0) + micros);
      const key = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "")}:${lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    }
    threads.push({ file, busyMicros: busy, wallMicros: wall });
  }
  return { byCategory, byFunction, threads };
}

function main(): void {
  const [dir, txArg] = process.argv.slice(2);
  if (!dir || !txArg) {
    console.error(
      "usage: profile-summary <profile dir> <transactions> [--window URL-REGEX] [--scale MICROS] [--stages] [--top N] [--json]",
    );
    process.exit(1);
  }
  // --scale M: show each category's share of M µs (a CPU time per transaction measured outside
  // the profile, e.g. the benchmark's nodeCpuMicrosPerTx): on a busy machine a sample's time
  // includes the moments its thread waited for a core, so shares are sound and sums are not.
  const scaleArg = process.argv.indexOf("--scale");
  const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : undefined;
  const windowArg = process.argv.indexOf("--window");
  const window = windowArg > 0 ? new RegExp(process.argv[windowArg + 1]!) : undefined;
  const transactions = Number(txArg);
  const topArg = process.argv.indexOf("--top");
  const top = topArg > 0 ? Number(process.argv[topArg + 1]) : 25;
  // --stages: by stage of the node's work (the stack's first claimed frame), event loop and
  // worker threads apart, instead of by the self time's package.
  const s = summarize(dir, window, process.argv.includes("--stages"));
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  const total = [...s.byCategory.values()].reduce((a, b) => a + b, 0);
  const perTx = (micros: number) =>
    Math.round((scale === undefined ? micros / transactions : (micros / total) * scale) * 10) / 10;
  if (process.argv.includes("--json")) {
    console.log(
      JSON.stringify({
        transactions,
        totalMicrosPerTx: perTx(total),
        byCategory: Object.fromEntries(sorted(s.byCategory).map(([k, v]) => [k, perTx(v)])),
        threads: s.threads.map((t) => ({ ...t, busyMicrosPerTx: perTx(t.busyMicros) })),
      }),
    );
    return;
  }
  console.log(`${transactions} transactions; CPU per transaction ${perTx(total)} µs (all threads)`);
  for (const t of s.threads)
    console.log(
      `  ${t.file}: ${perTx(t.busyMicros)} µs/tx busy, ${(t.wallMicros / 1e6).toFixed(1)} s profiled`,
    );
  console.log(
    process.argv.includes("--stages")
      ? "\nby thread and stage (µs per transaction):"
      : "\nby category (µs per transaction, self time):",
  );
  for (const [k, v] of sorted(s.byCategory))
    console.log(`  ${perTx(v).toFixed(1).padStart(7)}  ${k}`);
  console.log(`\ntop ${top} functions (µs per transaction, self time):`);
  for (const [k, v] of sorted(s.byFunction).slice(0, top))
    console.log(`  ${perTx(v).toFixed(1).padStart(7)}  ${k}`);
}

if (process.argv[1]?.endsWith("profile-summary.js")) main();

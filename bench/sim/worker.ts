import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { MemoryLevel } from "memory-level";
import pino from "pino";
import { toHex } from "../../src/core/bytes.js";
import { parseGenesis } from "../../src/core/genesis.js";
import { keyPairFromSeed } from "../../src/core/keys.js";
import { chainProtocols } from "../../src/net/protocols.js";
import { LotchainNode } from "../../src/node/node.js";
import { type ByteCounters, delayedTcp, Partition } from "./delay-transport.js";
import { GossipCounters } from "./gossip-counters.js";
import type {
  BlockRecord,
  FromWorker,
  HeadRecord,
  NodeSpec,
  ReorgRecord,
  ToWorker,
  WorkerInit,
} from "./messages.js";

/**
 * One process of the simulator: several lotchain nodes, each a real LotchainNode (chain, mempool,
 * forger, ChainNetwork over libp2p with gossipsub, kad-dht, sync; its API on a free port), over
 * TCP on 127.0.0.1 with delayed links. It records what every node sees (blocks stored, heads,
 * reorganisations, bytes, gossip copies) and how busy the process is, and reports to the
 * coordinator every REPORT_MS.
 */

const REPORT_MS = 500;
/** Gossipsub's gauges (mesh sizes) are collected every this many reports: it computes scores. */
const COLLECT_EVERY = 10;
const BLOCK_LABEL = "block";

interface Hosted {
  spec: NodeSpec;
  node: LotchainNode;
  bytes: ByteCounters;
  gossip: GossipCounters;
  /** the topic blocks gossip on (compact), whose mesh the node reports */
  blockTopic: string;
}

let init: WorkerInit | undefined;
const hosted: Hosted[] = [];
const partition = new Partition();
let blocks: BlockRecord[] = [];
let heads: HeadRecord[] = [];
let reorgs: ReorgRecord[] = [];
let reportTimer: NodeJS.Timeout | undefined;
const lag = monitorEventLoopDelay({ resolution: 10 });
let lastCpu = process.cpuUsage();
let lastElu = performance.eventLoopUtilization();
let lastSample = Date.now();
let reports = 0;

let baseLogger: pino.Logger | undefined;
function workerLogger(config: WorkerInit): pino.Logger {
  baseLogger ??= pino(
    { level: config.logLevel, base: { worker: config.worker, incarnation: config.incarnation } },
    pino.destination({ dest: config.logFile, append: true, sync: false }),
  );
  return baseLogger;
}

function send(message: FromWorker): void {
  process.send?.(message);
}

async function startNode(spec: NodeSpec, config: WorkerInit): Promise<Hosted> {
  const genesis = parseGenesis(config.genesis);
  const protocols = chainProtocols(genesis.chainId);
  const bytes: ByteCounters = { in: 0, out: 0 };
  const gossip = new GossipCounters({
    // Blocks travel compact (header and transaction ids) and, to peers without it, whole: one
    // count of block messages either way.
    [protocols.compactBlockTopic]: BLOCK_LABEL,
    [protocols.blockTopic]: BLOCK_LABEL,
    [protocols.txTopic]: "tx",
    [protocols.evidenceTopic]: "evidence",
  });
  const logger = workerLogger(config).child({ node: spec.index });
  const node = await LotchainNode.start({
    dataDir: spec.dataDir,
    genesis,
    key: spec.keySeed ? keyPairFromSeed(Buffer.from(spec.keySeed, "hex")) : undefined,
    api: { host: "127.0.0.1", port: 0 },
    p2p: {
      host: "127.0.0.1",
      port: 0,
      bootstrap: spec.bootstrap,
      mdns: false,
      p2p: {
        targetPeers: config.targetPeers,
        transport: delayedTcp({
          delay: { latencyMs: config.latencyMs, jitterMs: config.jitterMs },
          bytes,
          partition,
          side: () => spec.side,
        }),
        gossipMetrics: gossip.metrics,
      },
    },
    forgeEmptyBlocks: true,
    // Dozens of nodes share this process's cores: verification threads per node would only fight.
    verifyThreads: 0,
    database: config.memory
      ? new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: "view", valueEncoding: "view" })
      : undefined,
    logger,
  });
  const n = spec.index;
  const incarnation = config.incarnation;
  node.chain.on("block", ({ block, status }) => {
    const h = block.header;
    blocks.push([
      n,
      incarnation,
      block.hashHex,
      toHex(h.previousHash),
      h.height,
      h.seal.type === "pos" ? h.seal.slot : 0,
      toHex(h.forger).slice(0, 16),
      Date.now(),
      status,
      block.encoded.length,
    ]);
  });
  node.chain.on("head", ({ head }) => {
    heads.push([n, Date.now(), head.hashHex, head.header.height]);
  });
  node.chain.on("reorg", (e) => {
    reorgs.push([n, Date.now(), e.depth]);
  });
  const head = node.chain.head;
  heads.push([n, Date.now(), head.hashHex, head.height]);
  return { spec, node, bytes, gossip, blockTopic: protocols.compactBlockTopic };
}

function report(): void {
  const now = Date.now();
  const cpu = process.cpuUsage(lastCpu);
  lastCpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization(lastElu);
  lastElu = performance.eventLoopUtilization();
  const intervalMs = now - lastSample;
  // No delay sample at all: the loop never got to run its 10 ms timer in the whole interval.
  const starved = lag.count === 0;
  const sample = {
    time: now,
    cpuMs: (cpu.user + cpu.system) / 1000,
    intervalMs,
    elu: elu.utilization,
    lagP50: starved ? intervalMs : lag.percentile(50) / 1e6,
    lagP99: starved ? intervalMs : lag.percentile(99) / 1e6,
    lagMax: starved ? intervalMs : lag.max / 1e6,
    nodes: hosted.length,
    rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
    cutAborts: { ...partition.aborted },
  };
  lag.reset();
  lastSample = now;
  if (reports++ % COLLECT_EVERY === 0) for (const h of hosted) h.gossip.collect();
  send({
    type: "report",
    worker: init?.worker ?? -1,
    blocks,
    heads,
    reorgs,
    counters: hosted.map((h) => ({
      node: h.spec.index,
      incarnation: init?.incarnation ?? 0,
      bytesIn: h.bytes.in,
      bytesOut: h.bytes.out,
      blockValid: h.gossip.get("gossipsub_pre_validation_valid_total", BLOCK_LABEL),
      blockDuplicate: h.gossip.get("gossipsub_pre_validation_duplicate_total", BLOCK_LABEL),
      peers: h.node.network().peers.length,
      blockMesh: h.gossip.get("gossipsub_mesh_peer_count", h.blockTopic),
      blockTopicPeers: h.gossip.get("gossipsub_topic_peer_count", h.blockTopic),
    })),
    sample,
  });
  blocks = [];
  heads = [];
  reorgs = [];
}

async function onMessage(message: ToWorker): Promise<void> {
  switch (message.type) {
    case "init":
      init = message;
      lag.enable();
      reportTimer = setInterval(report, REPORT_MS);
      return;
    case "start": {
      const config = init!;
      const started = await Promise.all(message.nodes.map((spec) => startNode(spec, config)));
      hosted.push(...started);
      send({
        type: "started",
        nodes: started.map((h) => {
          const address = h.node.network().listenAddresses[0]!;
          return {
            index: h.spec.index,
            address,
            port: Number(/\/tcp\/(\d+)/.exec(address)![1]),
            peerId: h.node.network().peerId!,
          };
        }),
      });
      return;
    }
    case "cut":
      partition.cut(new Map(message.sideOfPort));
      return;
    case "heal":
      partition.heal();
      return;
    case "stop":
      report();
      clearInterval(reportTimer);
      await Promise.all(
        hosted.map(async (h) => {
          const t = Date.now();
          await h.node.stop().catch(() => undefined);
          if (Date.now() - t > 5_000)
            workerLogger(init!).warn({ node: h.spec.index, ms: Date.now() - t }, "slow stop");
        }),
      );
      send({ type: "stopped" });
      // Let the IPC channel flush, then leave.
      setTimeout(() => process.exit(0), 100).unref();
      return;
  }
}

process.on("message", (message: ToWorker) => {
  onMessage(message).catch((err: unknown) => {
    send({
      type: "error",
      message: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  });
});
// The coordinator is gone (finished, or killed): nothing here may outlive it.
process.on("disconnect", () => process.exit(0));

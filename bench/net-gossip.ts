import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noise } from "@libp2p/noise";
import { tcp } from "@libp2p/tcp";
import { lpStream } from "@libp2p/utils";
import { yamux } from "@libp2p/yamux";
import { createLibp2p } from "libp2p";
import { pino } from "pino";
import { P2PNode } from "../src/net/p2p.js";
import { round } from "./raw.js";

/**
 * Gossip throughput between two P2PNodes on loopback: one publishes `messages` distinct payloads
 * of `payloadBytes`, the other validates (accept) and counts them. The raw limit measured beside
 * it is the same payloads as length-prefixed frames over one bare TCP + noise + yamux stream, so
 * the ratio is what gossipsub (framing, ids, seen-cache, validation) costs on this machine.
 */
export interface GossipBenchResult {
  messages: number;
  payloadBytes: number;
  gossipPerSecond: number;
  rawStreamPerSecond: number;
  /** gossip / raw stream */
  ratio: number;
}

const TOPIC = "/lotchain/bench/gossip/1";

function payloads(count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8Array(size);
    new DataView(data.buffer).setUint32(0, i); // distinct payloads: ids are content hashes
    return data;
  });
}

/** Bytes of the unsigned varint length prefix of a frame of `n` bytes. */
function encodingLength(n: number): number {
  let bytes = 1;
  for (let rest = n >>> 7; rest > 0; rest >>>= 7) bytes += 1;
  return bytes;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("benchmark timed out");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export async function benchGossip(messages: number, payloadBytes: number): Promise<number> {
  const dirs = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), "lotchain-bench-"))));
  const logger = pino({ level: "silent" });
  const common = { host: "127.0.0.1", port: 0, protocolPrefix: "/lotchain/bench", logger };
  const receiver = await P2PNode.create({ ...common, dataDir: dirs[0]!, bootstrap: [] });
  await receiver.start();
  const sender = await P2PNode.create({
    ...common,
    dataDir: dirs[1]!,
    bootstrap: receiver.listenAddresses(),
  });
  try {
    let received = 0;
    receiver.subscribe(
      TOPIC,
      () => {
        received += 1;
        return "accept";
      },
      payloadBytes,
    );
    sender.subscribe(TOPIC, () => "accept", payloadBytes);
    await sender.start();
    await waitUntil(() => sender.topicPeers(TOPIC).length === 1, 10_000);
    const batch = payloads(messages, payloadBytes);
    const start = performance.now();
    for (const data of batch) await sender.publish(TOPIC, data);
    await waitUntil(() => received === messages, 120_000);
    return (messages * 1000) / (performance.now() - start);
  } finally {
    await Promise.all([sender.stop(), receiver.stop()]);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export async function benchRawStream(messages: number, payloadBytes: number): Promise<number> {
  // A fresh options object per node: createLibp2p writes the generated key into the one it gets.
  const options = () => ({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  const [receiver, sender] = await Promise.all([createLibp2p(options()), createLibp2p(options())]);
  try {
    // The receiver only counts bytes: the limit is the transport's, not a frame decoder's.
    const frameBytes = encodingLength(payloadBytes) + payloadBytes;
    let receivedBytes = 0;
    await receiver.handle("/bench/raw/1", async (stream) => {
      for await (const chunk of stream) receivedBytes += chunk.byteLength;
    });
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0]!, "/bench/raw/1");
    const lp = lpStream(stream);
    const batch = payloads(messages, payloadBytes);
    const start = performance.now();
    for (const data of batch) await lp.write(data);
    await waitUntil(() => receivedBytes === messages * frameBytes, 120_000);
    await stream.close();
    return (messages * 1000) / (performance.now() - start);
  } finally {
    await Promise.all([sender.stop(), receiver.stop()]);
  }
}

export async function benchNetGossip({
  messages = 5_000,
  payloadBytes = 200,
} = {}): Promise<GossipBenchResult> {
  // Warm up the JIT on both paths, or whichever runs first pays for it.
  await benchRawStream(1_000, payloadBytes);
  await benchGossip(1_000, payloadBytes);
  const rawStreamPerSecond = await benchRawStream(messages, payloadBytes);
  const gossipPerSecond = await benchGossip(messages, payloadBytes);
  return {
    messages,
    payloadBytes,
    gossipPerSecond: round(gossipPerSecond),
    rawStreamPerSecond: round(rawStreamPerSecond),
    ratio: round(gossipPerSecond / rawStreamPerSecond, 3),
  };
}

/** The shape bench/run.ts expects of a benchmark module. */
export async function run(): Promise<Record<string, number | string>> {
  const r = await benchNetGossip();
  return {
    "net.gossip.msgPerSec": r.gossipPerSecond,
    "net.rawStream.msgPerSec": r.rawStreamPerSecond,
    "net.gossip/rawStream": r.ratio,
  };
}

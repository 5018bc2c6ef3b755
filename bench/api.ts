import { type ChildProcess, spawn } from "node:child_process";
import { verify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { keyPairFromSeed, publicKeyObject } from "../src/core/keys.js";
import {
  signTransaction,
  type TransactionJson,
  transactionSigningBytes,
  transactionToJson,
} from "../src/core/transaction.js";
import { postJson, writeIngestGenesis } from "./http.js";
import { processCpuSeconds } from "./network.js";
import { median, rate, round } from "./raw.js";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const CHAIN = "lotchain-bench-api";
const SENDERS = 128;
const PER_SENDER = 32; // 4096 transactions: the default mempool size

async function startNode(
  dir: string,
  genesis: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "node",
      "--data-dir",
      join(dir, "data"),
      "--genesis",
      genesis,
      "--api-port",
      "0",
      "--p2p-port",
      "0",
      "--rate-limit",
      "0",
      "--log-level",
      "info",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let buffer = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`node exited with ${code}`)));
    child.stdout!.on("data", (d: Buffer) => {
      buffer += d.toString();
      const m = /"url":"(http:[^"]+)"/.exec(buffer);
      if (m) resolve(m[1]!);
    });
  });
  child.stdout!.resume();
  return { child, url };
}

/** User plus system CPU seconds of a process (Linux /proc). */
async function residentBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /lotchain_process_resident_memory_bytes (\d+)/.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/**
 * API ingest: signed transactions accepted per second over HTTP by one node process (no key, so
 * they accumulate in its mempool), from concurrent clients, beside the raw Ed25519 verification
 * rate of one core measured in the same run; and the resident memory of the node before and
 * after its mempool is full (4096 transactions).
 */
export async function run(): Promise<Record<string, number>> {
  const senders = Array.from({ length: SENDERS }, (_, i) =>
    keyPairFromSeed(new Uint8Array(32).fill(i + 1).map((b, j) => (j === 0 ? 0xa0 : b))),
  );
  const dir = mkdtempSync(join(tmpdir(), "lotchain-bench-api-"));
  const genesis = join(dir, "genesis.json");
  writeIngestGenesis(
    genesis,
    CHAIN,
    senders.map((s) => s.address),
  );
  const txs = [];
  for (let n = 0; n < PER_SENDER; n++)
    for (const s of senders)
      txs.push(
        signTransaction(
          {
            chainId: CHAIN,
            type: "TRANSFER",
            senderPublicKey: s.publicKey,
            receiver: senders[(n + 1) % SENDERS]!.address,
            amount: 1n,
            fee: 1n,
            nonce: n,
            timestamp: Date.now(),
          },
          s.privateKey,
        ),
      );
  const bodies: string[] = txs.map((tx) =>
    JSON.stringify(transactionToJson(tx) as TransactionJson),
  );
  const ready = txs.map((tx) => ({
    key: publicKeyObject(tx.senderPublicKey),
    msg: transactionSigningBytes(tx),
    sig: tx.signature,
  }));
  let i = 0;
  const rawVerify = () => {
    const r = ready[i++ % ready.length]!;
    return verify(null, r.msg, r.key, r.sig);
  };
  const rawBefore = rate(700, rawVerify);

  const { child, url } = await startNode(dir, genesis);
  try {
    const rssBefore = await residentBytes(url);
    const concurrency = 32;
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const cpuBefore = processCpuSeconds(child.pid!);
    let next = 0;
    let accepted = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          if ((await postJson(agent, `${url}/v1/transactions`, body)).status === 202) accepted++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const nodeCpu = processCpuSeconds(child.pid!) - cpuBefore;

    // The HTTP share: the same bodies from the same clients to a path no route serves, so the
    // node parses each request and answers 404 from its router, and does nothing else.
    const emptyCpuBefore = processCpuSeconds(child.pid!);
    let sent = 0;
    let notFound = 0;
    const emptyStart = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < bodies.length) {
          const body = bodies[sent++]!;
          if ((await postJson(agent, `${url}/v1/no-such-route`, body)).status === 404) notFound++;
        }
      }),
    );
    const emptySeconds = (performance.now() - emptyStart) / 1000;
    const emptyCpu = processCpuSeconds(child.pid!) - emptyCpuBefore;
    agent.destroy();
    const rssAfter = await residentBytes(url);
    const rawAfter = rate(700, rawVerify);
    const raw = median([rawBefore, rawAfter]);
    const perSecond = accepted / seconds;
    // The node checks every signature once: less CPU than half a check a transaction means the
    // process measured was not the node, and every figure below would be wrong.
    if ((nodeCpu * 1e6) / accepted < 0.5e6 / raw)
      throw new Error(
        `api: the node's CPU, ${((nodeCpu * 1e6) / accepted).toFixed(1)} µs a transaction, is under half of one signature check: the process measured was not the node`,
      );
    return {
      "api.acceptedTxPerSec": round(perSecond),
      "api.accepted": accepted,
      "api.concurrentClients": concurrency,
      "api.rawVerifyPerSec": round(raw),
      "api.ratioToRawVerify": round(perSecond / raw, 3),
      // CPU time of the node process per accepted transaction, against one raw verification:
      // what ingest costs the node itself, whatever the load generator on the same cores costs.
      "api.nodeCpuMicrosPerTx": round((nodeCpu * 1e6) / accepted),
      // The same load to an empty route (404): what HTTP alone costs the node per request.
      "api.emptyRouteRequests": notFound,
      "api.emptyRouteRequestsPerSec": round(notFound / emptySeconds),
      "api.emptyRouteNodeCpuMicrosPerRequest": round((emptyCpu * 1e6) / notFound),
      "api.httpShareOfIngestCpu": round(emptyCpu / notFound / (nodeCpu / accepted), 2),
      "api.rawVerifyMicros": round(1e6 / raw),
      "api.mempoolFullRssMiB": round(rssAfter / 2 ** 20, 1),
      "api.mempoolGrowthMiB": round((rssAfter - rssBefore) / 2 ** 20, 1),
      "api.mempoolTransactions": accepted,
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

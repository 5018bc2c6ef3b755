import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { privateKeyToPem } from "../../src/core/keys.js";
import { transactionToJson } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import {
  CLI,
  getJson,
  type NodeProcess,
  postJson,
  runCli,
  startNode,
  tempDir,
  waitFor,
  writeGenesis,
} from "../helpers/node-process.js";

const validator = testKey(21);
const exchange = testKey(22);
const alice = testKey(23);
const bob = testKey(24);
const CHAIN = "lotchain-e2e";

function setup() {
  const dir = tempDir("lotchain-e2e-");
  const genesis = writeGenesis(dir, {
    chainId: CHAIN,
    timestamp: Date.now() - 1000,
    consensus: { type: "pos", slotMs: 200, finalityDepth: 16 },
    alloc: { [alice.address]: "1000" },
    validators: { [validator.address]: "5" },
    exchange: [exchange.address],
    blockReward: "0",
    minFee: "1",
  });
  const keyFile = (name: string, key: typeof alice) => {
    const file = join(dir, `${name}.pem`);
    writeFileSync(file, privateKeyToPem(key.privateKey), { mode: 0o600 });
    return file;
  };
  return {
    dir,
    genesis,
    validatorKey: keyFile("validator", validator),
    aliceKey: keyFile("alice", alice),
    exchangeKey: keyFile("exchange", exchange),
  };
}

const running: NodeProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.kill()));
});

async function start(opts: Parameters<typeof startNode>[0]) {
  const node = await startNode(opts);
  running.push(node);
  return node;
}

describe("a node process", () => {
  it("takes transactions from the CLI, and resumes at the same head after SIGTERM", async () => {
    const s = setup();
    const dataDir = join(s.dir, "data");
    const node = await start({ dataDir, genesis: s.genesis, key: s.validatorKey });
    const send = await runCli([
      "tx",
      "send",
      "--key",
      s.exchangeKey,
      "--type",
      "EXCHANGE",
      "--to",
      bob.address,
      "--amount",
      "70",
      "--fee",
      "1",
      "--node",
      node.apiUrl,
      "--wait",
      "--json",
    ]);
    expect(send.code, send.stderr).toBe(1); // the exchange has no balance for the fee
    expect(send.stderr).toMatch(/InsufficientFunds/);
    const sends = [];
    // Several sends in a row use the pending nonce, without waiting.
    for (const amount of ["10", "20", "30"]) {
      const r = await runCli([
        "tx",
        "send",
        "--key",
        s.aliceKey,
        "--type",
        "TRANSFER",
        "--to",
        bob.address,
        "--amount",
        amount,
        "--node",
        node.apiUrl,
        "--json",
      ]);
      expect(r.code, r.stderr).toBe(0);
      sends.push(JSON.parse(r.stdout).id);
    }
    const last = await runCli([
      "tx",
      "send",
      "--key",
      s.aliceKey,
      "--type",
      "STAKE",
      "--amount",
      "100",
      "--node",
      node.apiUrl,
      "--wait",
      "--json",
    ]);
    expect(last.code, last.stderr).toBe(0);
    const included = JSON.parse(last.stdout);
    expect(included).toEqual({
      id: expect.any(String),
      height: expect.any(Number),
      blockHash: expect.any(String),
    });
    for (const id of sends)
      await waitFor(
        async () =>
          (await getJson(`${node.apiUrl}/v1/transactions/${id}`)).body.status === "included",
        20_000,
        id,
      );
    const balance = await runCli(["balance", alice.address, "--node", node.apiUrl, "--json"]);
    expect(JSON.parse(balance.stdout)).toEqual({
      address: alice.address,
      balance: String(1000 - 60 - 100 - 4),
      stake: "100",
      nonce: 4,
      pendingNonce: 4,
      unbonding: [],
      slashed: false,
    });
    const before = (await getJson(`${node.apiUrl}/v1/status`)).body;
    expect(await node.stop()).toBe(0);
    const again = await start({ dataDir, genesis: s.genesis });
    const after = (await getJson(`${again.apiUrl}/v1/status`)).body;
    expect(after.headHash).toBe(before.headHash);
    expect(after.height).toBe(before.height);
    expect((await getJson(`${again.apiUrl}/v1/accounts/${bob.address}`)).body.balance).toBe("60");
  });

  it("loses nothing it acknowledged when killed with SIGKILL", async () => {
    const s = setup();
    const dataDir = join(s.dir, "data");
    // No key: nothing is forged, so acknowledged transactions stay pending in the mempool.
    const node = await start({ dataDir, genesis: s.genesis });
    const ids: string[] = [];
    for (let nonce = 0; nonce < 20; nonce++) {
      const tx = transactionToJson(
        makeTx(alice, { chainId: CHAIN, to: bob.address, amount: 1n, nonce }),
      );
      const r = await postJson(`${node.apiUrl}/v1/transactions`, tx);
      expect(r.status).toBe(202);
      ids.push(r.body.id);
    }
    await node.kill();
    const again = await start({ dataDir, genesis: s.genesis, key: s.validatorKey });
    for (const id of ids) {
      const r = await getJson(`${again.apiUrl}/v1/transactions/${id}`);
      expect(r.status, id).toBe(200);
    }
    await waitFor(
      async () =>
        (await getJson(`${again.apiUrl}/v1/accounts/${bob.address}`)).body.balance === "20",
      20_000,
      "the acknowledged transfers to be included",
    );
  });

  it("refuses a data directory made with another genesis", async () => {
    const s = setup();
    const dataDir = join(s.dir, "data");
    const node = await start({ dataDir, genesis: s.genesis });
    await node.stop();
    const other = writeGenesis(
      s.dir,
      {
        chainId: "another-chain",
        timestamp: 0,
        consensus: { type: "pos", slotMs: 200, finalityDepth: 16 },
        validators: { [validator.address]: "1" },
      },
      "other.json",
    );
    const r = await runCli(
      ["node", "--data-dir", dataDir, "--genesis", other, "--api-port", "0", "--p2p-port", "0"],
      { timeoutMs: 30_000 },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/genesis/i);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("a node process's flags and signals", () => {
  it("takes --json like every command", async () => {
    const s = setup();
    const node = await start({
      dataDir: join(s.dir, "data"),
      genesis: s.genesis,
      extra: ["--json"],
    });
    expect((await getJson(`${node.apiUrl}/v1/status`)).status).toBe(200);
    expect(await node.stop()).toBe(0);
  });

  it("stops cleanly on a SIGTERM that arrives while it is still starting", async () => {
    const s = setup();
    const child = spawn(
      process.execPath,
      [
        CLI,
        "node",
        "--data-dir",
        join(s.dir, "data"),
        "--genesis",
        s.genesis,
        "--api-port",
        "0",
        "--p2p-port",
        "0",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    try {
      // The chain is open; the network and the API are still to come.
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes('"msg":"chain opened"')) resolve();
        });
        child.once("exit", () => reject(new Error(`exited early:\n${out}`)));
      });
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const result = await exited;
      clearTimeout(timer);
      expect(result, out).toEqual({ code: 0, signal: null });
      expect(out).toContain('"msg":"node stopped"');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});

describe("a PoW node", () => {
  it("mines blocks in a worker and pays the reward to the miner", async () => {
    const dir = tempDir("lotchain-pow-");
    const genesis = writeGenesis(dir, {
      chainId: "lotchain-pow-e2e",
      timestamp: Date.now() - 1000,
      consensus: { type: "pow", targetBlockMs: 300, initialTarget: `003${"f".repeat(61)}` },
      alloc: { [alice.address]: "100" },
      validators: {},
      exchange: [],
      blockReward: "50",
      minFee: "1",
    });
    const keyFile = join(dir, "miner.pem");
    writeFileSync(keyFile, privateKeyToPem(validator.privateKey), { mode: 0o600 });
    const node = await start({ dataDir: join(dir, "data"), genesis, key: keyFile });
    const tx = transactionToJson(
      makeTx(alice, {
        chainId: "lotchain-pow-e2e",
        to: bob.address,
        amount: 10n,
        fee: 3n,
        nonce: 0,
      }),
    );
    expect((await postJson(`${node.apiUrl}/v1/transactions`, tx)).status).toBe(202);
    const status = await waitFor(
      async () => {
        const st = (await getJson(`${node.apiUrl}/v1/status`)).body;
        return st.height >= 3 ? st : undefined;
      },
      60_000,
      "three mined blocks",
    );
    const head = (await getJson(`${node.apiUrl}/v1/blocks/head`)).body;
    expect(head.target).toMatch(/^[0-9a-f]{64}$/);
    expect(BigInt(`0x${head.hash}`) <= BigInt(`0x${head.target}`)).toBe(true);
    expect(typeof head.nonce).toBe("string");
    await waitFor(
      async () =>
        (await getJson(`${node.apiUrl}/v1/transactions/${tx.id}`)).body.status === "included",
      30_000,
      "tx inclusion",
    );
    const miner = (await getJson(`${node.apiUrl}/v1/accounts/${validator.address}`)).body;
    const height = (await getJson(`${node.apiUrl}/v1/status`)).body.height;
    // Every block pays 50; the one with the transfer pays its fee too. The API answered while mining.
    expect(BigInt(miner.balance) >= BigInt(status.height) * 50n + 3n).toBe(true);
    expect(BigInt(miner.balance) <= BigInt(height) * 50n + 3n).toBe(true);
  });
});

import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKeyToPem } from "../../src/core/keys.js";
import { transactionToJson } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import {
  getJson,
  type NodeProcess,
  runCli,
  startNode,
  tempDir,
  writeGenesis,
} from "../helpers/node-process.js";

const validator = testKey(61);
const alice = testKey(62);
const bob = testKey(63);
const CHAIN = "lotchain-e2e-batch";

let dir: string;
let node: NodeProcess;

beforeAll(async () => {
  dir = tempDir("lotchain-e2e-batch-");
  const genesis = writeGenesis(dir, {
    chainId: CHAIN,
    timestamp: Date.now() - 1000,
    consensus: { type: "pos", slotMs: 200, finalityDepth: 16 },
    alloc: { [alice.address]: "1000" },
    validators: { [validator.address]: "5" },
    exchange: [],
    blockReward: "0",
    minFee: "1",
  });
  const key = join(dir, "validator.pem");
  writeFileSync(key, privateKeyToPem(validator.privateKey), { mode: 0o600 });
  node = await startNode({ dataDir: join(dir, "data"), genesis, key });
});

afterAll(async () => {
  await node?.kill();
  rmSync(dir, { recursive: true, force: true });
});

const signed = (nonce: number, spec: Partial<Parameters<typeof makeTx>[1]> = {}) =>
  transactionToJson(makeTx(alice, { chainId: CHAIN, to: bob.address, nonce, ...spec }));

function batchFile(name: string, txs: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(txs));
  return file;
}

describe("lotchain tx send --batch FILE", () => {
  it("submits a file of signed transactions through the batch route and waits for them", async () => {
    const txs = [signed(0, { amount: 5n }), signed(1, { amount: 6n }), signed(2, { amount: 7n })];
    const r = await runCli([
      "tx",
      "send",
      "--batch",
      batchFile("ok.json", txs),
      "--node",
      node.apiUrl,
      "--wait",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { results } = JSON.parse(r.stdout);
    expect(results.map((x: { id: string }) => x.id)).toEqual(txs.map((t) => t.id));
    for (const x of results) {
      expect(x.status).toBe(202);
      expect(x.height).toBeGreaterThan(0);
      expect(x.blockHash).toMatch(/^[0-9a-f]{64}$/);
    }
    const bobNow = (await getJson(`${node.apiUrl}/v1/accounts/${bob.address}`)).body;
    expect(bobNow.balance).toBe("18");
  });

  it("prints every answer and exits non-zero with one line when the node refused some", async () => {
    const txs = [signed(3), signed(3), signed(4, { amount: 100_000n })];
    const r = await runCli([
      "tx",
      "send",
      "--batch",
      batchFile("mixed.json", txs),
      "--node",
      node.apiUrl,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${txs[0]!.id} accepted`);
    expect(r.stdout).toMatch(/refused \(409 Duplicate\)/);
    expect(r.stdout).toMatch(/refused \(422 InsufficientFunds\)/);
    expect(r.stderr.trim().split("\n")).toEqual(["lotchain: the node refused 2 of 3 transactions"]);
  });

  it("refuses, before sending anything, a bad file, a fee above --max-fee and signing flags", async () => {
    const notJson = join(dir, "notjson.json");
    writeFileSync(notJson, "{ nope");
    const cases: [string[], RegExp][] = [
      [["--batch", notJson], /is not JSON/],
      [["--batch", join(dir, "missing.json")], /cannot read --batch/],
      [["--batch", batchFile("string.json", "x")], /must hold a JSON array/],
      [["--batch", batchFile("empty.json", [])], /must hold a JSON array/],
      [
        ["--batch", batchFile("fee.json", [signed(9, { fee: 5000n })])],
        /above --max-fee 1000; nothing sent/,
      ],
      [
        ["--batch", batchFile("one.json", [signed(9)]), "--type", "TRANSFER"],
        /--type do not apply/,
      ],
      [["--batch", batchFile("one.json", [signed(9)]), "--chain-id", "other"], /not "other"/],
      [["--amount", "1"], /required option '--key <file>'/],
    ];
    for (const [args, reason] of cases) {
      const r = await runCli(["tx", "send", "--node", node.apiUrl, ...args]);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr, args.join(" ")).toMatch(reason);
    }
    const pending = (await getJson(`${node.apiUrl}/v1/mempool`)).body.transactions;
    expect(pending.find((t: { nonce: number }) => t.nonce === 9)).toBeUndefined();
  });
});

import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseGenesis } from "../../src/core/genesis.js";
import { transactionFromJson, verifyTransactionSignature } from "../../src/core/transaction.js";
import { runCli, tempDir } from "../helpers/node-process.js";

const dir = tempDir("lotchain-cli-");
afterAll(() => {});

describe("lotchain CLI without a node", () => {
  it("keygen writes a 0600 PEM file, prints address and public key, never overwrites", async () => {
    const file = join(dir, "k1.pem");
    const r = await runCli(["keygen", "--out", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({
      address: expect.stringMatching(/^lc1/),
      publicKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      file,
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = readFileSync(file, "utf8");
    const again = await runCli(["keygen", "--out", file]);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(again.stderr).toMatch(/exists/);
    expect(readFileSync(file, "utf8")).toBe(before);
    const addr = await runCli(["address", "--key", file, "--json"]);
    expect(JSON.parse(addr.stdout)).toEqual(out);
  });

  it("tx sign prints a transaction that verifies", async () => {
    const key = join(dir, "k2.pem");
    const { address } = JSON.parse((await runCli(["keygen", "--out", key, "--json"])).stdout);
    const r = await runCli([
      "tx",
      "sign",
      "--key",
      key,
      "--type",
      "TRANSFER",
      "--to",
      address,
      "--amount",
      "42",
      "--fee",
      "3",
      "--nonce",
      "7",
      "--chain-id",
      "lotchain-devnet",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({
      type: "TRANSFER",
      amount: "42",
      fee: "3",
      nonce: 7,
      chainId: "lotchain-devnet",
      receiver: address,
    });
    const tx = transactionFromJson(json);
    expect(verifyTransactionSignature(tx)).toBe(true);
    expect(tx.id).toBe(json.id);
    // Environment variables stand in for flags.
    const viaEnv = await runCli(
      ["tx", "sign", "--key", key, "--type", "STAKE", "--amount", "5", "--nonce", "0"],
      {
        env: { LOTCHAIN_CHAIN_ID: "from-env" },
      },
    );
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({
      chainId: "from-env",
      type: "STAKE",
      receiver: address,
    });
  });

  it("genesis create writes PoS and PoW genesis files the node accepts", async () => {
    const key = join(dir, "k3.pem");
    const { address } = JSON.parse((await runCli(["keygen", "--out", key, "--json"])).stdout);
    const pos = join(dir, "pos.json");
    const r = await runCli([
      "genesis",
      "create",
      "--out",
      pos,
      "--chain-id",
      "test-pos",
      "--slot-ms",
      "250",
      "--finality-depth",
      "8",
      "--validator",
      `${address}:10`,
      "--alloc",
      `${address}:1000`,
      "--exchange",
      address,
      "--block-reward",
      "2",
      "--min-fee",
      "1",
      "--timestamp",
      "1700000000000",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const g = parseGenesis(JSON.parse(readFileSync(pos, "utf8")));
    expect(g).toMatchObject({
      chainId: "test-pos",
      timestamp: 1700000000000,
      blockReward: 2n,
      minFee: 1n,
    });
    expect(g.consensus).toEqual({
      type: "pos",
      slotMs: 250,
      finalityDepth: 8,
      epochSlots: 8,
      unbondingSlots: 16,
      slashMillionths: 1_000_000,
      reporterMillionths: 100_000,
    });
    expect(g.validators.get(address)).toBe(10n);
    expect(JSON.parse(r.stdout).genesisHash).toMatch(/^[0-9a-f]{64}$/);
    const pow = join(dir, "pow.json");
    const p = await runCli([
      "genesis",
      "create",
      "--out",
      pow,
      "--chain-id",
      "test-pow",
      "--consensus",
      "pow",
      "--target-block-ms",
      "500",
      "--initial-target",
      `0f${"f".repeat(62)}`,
      "--block-reward",
      "50",
    ]);
    expect(p.code, p.stderr).toBe(0);
    const gp = parseGenesis(JSON.parse(readFileSync(pow, "utf8")));
    expect(gp.consensus).toEqual({
      type: "pow",
      targetBlockMs: 500,
      initialTarget: BigInt(`0x0f${"f".repeat(62)}`),
    });
  });

  it("fails with one line on stderr and a non-zero exit for every user mistake", async () => {
    const bad = join(dir, "bad.pem");
    writeFileSync(bad, "not a key");
    const cases: string[][] = [
      ["bogus"],
      ["keygen", "--bogus"],
      ["address"],
      ["address", "--key", bad],
      ["address", "--key", join(dir, "missing.pem")],
      [
        "tx",
        "sign",
        "--key",
        bad,
        "--type",
        "TRANSFER",
        "--to",
        "lc1x",
        "--amount",
        "1",
        "--nonce",
        "0",
        "--chain-id",
        "x",
      ],
      ["genesis", "create", "--out", join(dir, "g.json"), "--chain-id", "BAD CHAIN"],
      [
        "genesis",
        "create",
        "--out",
        join(dir, "g.json"),
        "--chain-id",
        "ok",
        "--validator",
        "nope",
      ],
      ["genesis", "create", "--out", join(dir, "g.json"), "--chain-id", "ok", "--slot-ms", "abc"],
      ["balance", "lc1notanaddress"],
      ["balance", "lc1x36slx9at870e9rd53d2405n80s4ff949n8ghl", "--node", "http://127.0.0.1:9"],
      ["node", "--genesis", join(dir, "missing.json")],
      ["node", "--log-level", "loud"],
    ];
    for (const args of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).not.toBe(0);
      const lines = r.stderr.trim().split("\n");
      expect(lines, `${args.join(" ")}: ${r.stderr}`).toHaveLength(1);
      expect(lines[0]).toMatch(/^lotchain: /);
      expect(r.stderr).not.toMatch(/ at .*\.js:\d+/);
    }
  });
});

describe("tx send checks its flags before it asks the node", () => {
  it("names the flag at fault, not an unreachable node", async () => {
    const key = join(dir, "send.pem");
    await runCli(["keygen", "--out", key]);
    const base = ["tx", "send", "--key", key, "--node", "http://127.0.0.1:9"];
    const cases: [string[], RegExp][] = [
      [["--type", "TRANSFER", "--amount", "1"], /--to is required/],
      [["--type", "TRANSFER", "--to", "lc1nope", "--amount", "1"], /--to is not a valid/],
      [["--type", "STAKE", "--amount", "-1"], /--amount must be/],
      [["--type", "STAKE", "--amount", "1", "--fee", "1.5"], /--fee must be/],
    ];
    for (const [args, reason] of cases) {
      const r = await runCli([...base, ...args]);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toMatch(reason);
    }
  });
});

describe("environment variables stand in for every flag", () => {
  it("a repeatable flag takes a comma-separated list (genesis create)", async () => {
    const keys = [join(dir, "env-a.pem"), join(dir, "env-b.pem")];
    const [a, b] = await Promise.all(
      keys.map(async (k) => JSON.parse((await runCli(["keygen", "--out", k, "--json"])).stdout)),
    );
    const out = join(dir, "env-genesis.json");
    const r = await runCli(["genesis", "create", "--out", out, "--chain-id", "env-net"], {
      env: {
        LOTCHAIN_ALLOC: `${a.address}:5,${b.address}:7`,
        LOTCHAIN_VALIDATOR: `${a.address}:1,${b.address}:2`,
        LOTCHAIN_EXCHANGE: `${a.address},${b.address}`,
      },
    });
    expect(r.code, r.stderr).toBe(0);
    const g = parseGenesis(JSON.parse(readFileSync(out, "utf8")));
    expect(g.alloc.get(a.address)).toBe(5n);
    expect(g.alloc.get(b.address)).toBe(7n);
    expect(g.validators.get(b.address)).toBe(2n);
    expect([...g.exchange].sort()).toEqual([a.address, b.address].sort());
  });

  it("a boolean flag's variable set to 0 or false leaves the flag off", async () => {
    const key = join(dir, "env-bool.pem");
    await runCli(["keygen", "--out", key]);
    for (const value of ["0", "false", "FALSE", "no", "off", ""]) {
      const r = await runCli(["address", "--key", key], { env: { LOTCHAIN_JSON: value } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, `LOTCHAIN_JSON=${value}`).toMatch(/^address /);
    }
    for (const value of ["1", "true", "yes"]) {
      const r = await runCli(["address", "--key", key], { env: { LOTCHAIN_JSON: value } });
      expect(JSON.parse(r.stdout).file, `LOTCHAIN_JSON=${value}`).toBe(key);
    }
  });
});

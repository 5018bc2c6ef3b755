import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { genesisJson } from "../helpers/cluster.js";
import { testKey } from "../helpers/ledger.js";
import { CLI, REPO, runCli, startNode, tempDir, writeGenesis } from "../helpers/node-process.js";

const dir = tempDir("lotchain-keystore-");
const passFile = join(dir, "pass.txt");
writeFileSync(passFile, "correct horse battery staple\n", { mode: 0o600 });
const wrongFile = join(dir, "wrong.txt");
writeFileSync(wrongFile, "not it\n");
const json = (r: { stdout: string }) => JSON.parse(r.stdout);
const oneLine = (stderr: string) => stderr.trim().split("\n");

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("encrypted keystores", () => {
  const store = join(dir, "alice.json");
  let address: string;

  it("keygen --encrypt writes a 0600 keystore with nothing secret in clear", async () => {
    const r = await runCli([
      "keygen",
      "--encrypt",
      "--password-file",
      passFile,
      "--out",
      store,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = json(r);
    address = out.address;
    expect(out).toMatchObject({ file: store, encrypted: true });
    expect(statSync(store).mode & 0o777).toBe(0o600);
    const k = JSON.parse(readFileSync(store, "utf8"));
    expect(k).toMatchObject({
      version: "lotchain-keystore-1",
      address,
      crypto: { kdf: "scrypt", cipher: "aes-256-gcm" },
    });
    expect(readFileSync(store, "utf8")).not.toMatch(/PRIVATE KEY/);
    // Never overwritten.
    const again = await runCli([
      "keygen",
      "--encrypt",
      "--password-file",
      passFile,
      "--out",
      store,
    ]);
    expect(again.code).not.toBe(0);
    expect(oneLine(again.stderr)).toHaveLength(1);
  });

  it("every --key reads it with the passphrase from --password-file or LOTCHAIN_PASSWORD", async () => {
    const byFile = await runCli(["address", "--key", store, "--password-file", passFile, "--json"]);
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(json(byFile).address).toBe(address);
    const byEnv = await runCli(["address", "--key", store, "--json"], {
      env: { LOTCHAIN_PASSWORD: "correct horse battery staple" },
    });
    expect(json(byEnv).address).toBe(address);
    const signed = await runCli(
      [
        "tx",
        "sign",
        "--key",
        store,
        "--type",
        "STAKE",
        "--amount",
        "1",
        "--nonce",
        "0",
        "--chain-id",
        "c",
      ],
      { env: { LOTCHAIN_PASSWORD: "correct horse battery staple" } },
    );
    expect(signed.code, signed.stderr).toBe(0);
    expect(json(signed).receiver).toBe(address);
  });

  it("a wrong or missing passphrase fails in one line that says so", async () => {
    const wrong = await runCli(["address", "--key", store, "--password-file", wrongFile]);
    expect(wrong.code).not.toBe(0);
    expect(oneLine(wrong.stderr)).toHaveLength(1);
    expect(wrong.stderr).toMatch(/passphrase/);
    const wrongEnv = await runCli(["address", "--key", store], {
      env: { LOTCHAIN_PASSWORD: "nope" },
    });
    expect(wrongEnv.stderr).toMatch(/passphrase/);
    // No file, no variable, no terminal: told where a passphrase can come from.
    const none = await runCli(["address", "--key", store], { env: { LOTCHAIN_PASSWORD: "" } });
    expect(none.code).not.toBe(0);
    expect(oneLine(none.stderr)).toHaveLength(1);
    expect(none.stderr).toMatch(/passphrase.*--password-file.*LOTCHAIN_PASSWORD/);
    // An altered keystore fails the same check.
    const altered = join(dir, "altered.json");
    const k = JSON.parse(readFileSync(store, "utf8"));
    k.address = testKey(1).address;
    writeFileSync(altered, JSON.stringify(k));
    const bad = await runCli(["address", "--key", altered, "--password-file", passFile]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/passphrase/);
  });

  it("encrypts an existing PEM key (--from) into a keystore of the same address", async () => {
    const pem = join(dir, "plain.pem");
    const made = json(await runCli(["keygen", "--out", pem, "--json"]));
    const out = join(dir, "plain.json");
    const r = await runCli([
      "keygen",
      "--encrypt",
      "--from",
      pem,
      "--out",
      out,
      "--password-file",
      passFile,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).address).toBe(made.address);
    const back = await runCli(["address", "--key", out, "--password-file", passFile, "--json"]);
    expect(json(back).address).toBe(made.address);
  });

  it("a node forges with a keystore, and warns about a plaintext key off the devnet", async () => {
    const validator = join(dir, "validator.json");
    const v = json(
      await runCli([
        "keygen",
        "--encrypt",
        "--password-file",
        passFile,
        "--out",
        validator,
        "--json",
      ]),
    );
    const genesis = writeGenesis(
      dir,
      genesisJson({
        chainId: "lotchain-keystore",
        consensus: { type: "pos", slotMs: 200, finalityDepth: 8 },
        validators: [[{ address: v.address } as never, 1]],
      }),
    );
    const node = await startNode({
      dataDir: join(dir, "data1"),
      genesis,
      key: validator,
      extra: ["--password-file", passFile, "--forge-empty-blocks"],
    });
    try {
      expect(node.logs.join("\n")).toMatch(/producing blocks/);
      expect(node.logs.join("\n")).not.toMatch(/plaintext/);
    } finally {
      await node.stop();
    }
    const pem = join(dir, "plain-validator.pem");
    await runCli(["keygen", "--out", pem]);
    chmodSync(pem, 0o644);
    const plain = await startNode({ dataDir: join(dir, "data2"), genesis, key: pem });
    try {
      const warning = plain.logs.find((l) => /plaintext/.test(l));
      expect(warning).toMatch(/keygen --encrypt --from/);
      expect(JSON.parse(warning!).level).toBe(40);
      expect(plain.logs.join("\n")).toMatch(/readable by other users; chmod 600 it/);
    } finally {
      await plain.stop();
    }
    // The bundled devnet's public test keys: no warning.
    const devnet = await startNode({
      dataDir: join(dir, "data3"),
      key: join(REPO, "devnet/keys/genesisPrivateKey.pem"),
    });
    try {
      // (git checks them out 0644: nothing to warn about either.)
      expect(devnet.logs.join("\n")).not.toMatch(/plaintext|readable by other users/);
    } finally {
      await devnet.stop();
    }
  });
});

describe.skipIf(!existsSync("/usr/bin/script"))("the passphrase prompt on a terminal", () => {
  /**
   * Runs the CLI on a pseudo-terminal (script(1)) and types each of `answers` once the prompt
   * before it shows (waiting on the prompt, not on the clock).
   */
  const onTerminal = (args: string[], answers: string[]) =>
    new Promise<{ status: number | null; stdout: string }>((resolve, reject) => {
      const command = `stty cols 120; ${[process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ")}`;
      const child = spawn("script", ["-qec", command, "/dev/null"], { stdio: "pipe" });
      let stdout = "";
      let prompts = 0;
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        const seen = stdout.match(/(Passphrase for|Repeat the passphrase)[^\n]*: /g)?.length ?? 0;
        while (prompts < seen && prompts < answers.length)
          child.stdin.write(`${answers[prompts++]}\r`);
      });
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`no answer on the terminal:\n${stdout}`));
      }, 60_000);
      child.on("exit", (status) => {
        clearTimeout(timer);
        child.stdin.end();
        resolve({ status, stdout });
      });
    });

  it("asks twice for a new keystore, never echoes, and asks once to use it", async () => {
    const file = join(dir, "prompted.json");
    const made = await onTerminal(
      ["keygen", "--encrypt", "--out", file],
      ["s3cret pass", "s3cret pass"],
    );
    expect(made.status, made.stdout).toBe(0);
    expect(made.stdout).toMatch(/Passphrase for the new keystore/);
    expect(made.stdout).toMatch(/Repeat the passphrase/);
    expect(made.stdout).not.toContain("s3cret");
    const used = await onTerminal(["address", "--key", file], ["s3cret pass"]);
    expect(used.status, used.stdout).toBe(0);
    expect(used.stdout).toMatch(/address\s+lc1/);
    const wrong = await onTerminal(["address", "--key", file], ["not it"]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong passphrase/);
  });
});

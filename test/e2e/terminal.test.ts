import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateKeyToPem } from "../../src/core/keys.js";
import { genesisJson } from "../helpers/cluster.js";
import { testKey } from "../helpers/ledger.js";
import {
  CLI,
  type NodeProcess,
  REPO,
  runCli,
  startNode,
  tempDir,
  writeGenesis,
} from "../helpers/node-process.js";

const validator = testKey(91);
const alice = testKey(92);
const dir = tempDir("lotchain-terminal-");
let node: NodeProcess;

beforeAll(async () => {
  const genesis = writeGenesis(
    dir,
    genesisJson({
      chainId: "lotchain-terminal",
      consensus: { type: "pos", slotMs: 200, finalityDepth: 8 },
      validators: [[validator, 1]],
      alloc: [[alice, 1000]],
    }),
  );
  const keyFile = join(dir, "validator.pem");
  writeFileSync(keyFile, privateKeyToPem(validator.privateKey), { mode: 0o600 });
  node = await startNode({ dataDir: join(dir, "data"), genesis, key: keyFile });
});
afterAll(async () => {
  await node?.stop();
});

describe("lotchain status", () => {
  it("prints height, head, finality, peers, sync, mempool and validators", async () => {
    const r = await runCli(["status", "--node", node.apiUrl]);
    expect(r.code, r.stderr).toBe(0);
    for (const label of ["height", "head", "finalized", "peers", "sync", "mempool", "validators"])
      expect(r.stdout).toMatch(new RegExp(`^${label}\\s`, "m"));
    expect(r.stdout).toContain(validator.address);
    expect(r.stdout).toMatch(/in step with its peers/);
  });

  it("--json prints the /v1/status object", async () => {
    const r = await runCli(["status", "--node", node.apiUrl, "--json"]);
    const status = JSON.parse(r.stdout);
    const direct = (await (await fetch(`${node.apiUrl}/v1/status`)).json()) as object;
    expect(status.chainId).toBe("lotchain-terminal");
    expect(Object.keys(status).sort()).toEqual(Object.keys(direct).sort());
  });

  it("fails in one line when the node cannot be reached", async () => {
    const r = await runCli(["status", "--node", "http://127.0.0.1:9"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot reach the node/);
  });
});

const hasScript = existsSync("/usr/bin/script");

describe.skipIf(!hasScript)("progress on a terminal", () => {
  it("tx send --wait shows what it waits for on a terminal, and only the result when piped", async () => {
    const keyFile = join(dir, "alice.pem");
    writeFileSync(keyFile, privateKeyToPem(alice.privateKey), { mode: 0o600 });
    const args = [
      "tx",
      "send",
      "--key",
      keyFile,
      "--type",
      "STAKE",
      "--amount",
      "5",
      "--node",
      node.apiUrl,
      "--wait",
    ];
    // script(1) gives the command a pseudo-terminal, as a person's shell would.
    const command = `stty cols 120 rows 40; ${[process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ")}`;
    const tty = spawnSync("script", ["-qec", command, "/dev/null"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(tty.status, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/waiting for a block/);
    expect(tty.stdout).toMatch(/included at height \d+/);
    const piped = await runCli([...args.slice(0, 7), "1", ...args.slice(8)]);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toBe("");
  });
});

/** A Node.js older than 24 on PATH outside this repository (the system's), if any. */
function systemNode(): string | undefined {
  for (const entry of (process.env.PATH ?? "").split(delimiter)) {
    if (entry.includes("node_modules")) continue;
    const candidate = join(entry, "node");
    if (!existsSync(candidate)) continue;
    const version = execFileSync(candidate, ["--version"], { encoding: "utf8" }).trim();
    if (Number(version.slice(1).split(".")[0]) < 24) return candidate;
  }
  return undefined;
}

const older = systemNode();

describe.skipIf(!older)("npx lotchain on an older system Node", () => {
  it("prints the command's output and no npm engine warnings", () => {
    const bin = join(older!, "..");
    const npx = join(bin, "npx");
    const env = {
      ...process.env,
      // The system Node first, as in a person's shell (npm scripts put the pinned one first).
      PATH: [
        bin,
        ...(process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes("node_modules")),
      ].join(delimiter),
    };
    const r = spawnSync(existsSync(npx) ? npx : "npx", ["lotchain", "--version"], {
      cwd: REPO,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/EBADENGINE|npm warn/);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

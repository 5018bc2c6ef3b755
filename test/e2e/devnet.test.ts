import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addressFromPublicKey } from "../../src/core/keys.js";
import { CLI, getJson, tempDir, waitFor } from "../helpers/node-process.js";

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface DevnetNode {
  name: string;
  apiUrl: string;
  p2p: string;
  key: string;
  role: string;
  pid: number;
}

/**
 * Starts `lotchain devnet ... --json` in a new directory on a random port base and waits for its
 * table; every pid it started (the devnet and its nodes) is stopped after the test.
 */
async function startDevnet(args: string[], dirPrefix: string, env?: NodeJS.ProcessEnv) {
  const dir = tempDir(dirPrefix);
  // Fixed ports are the devnet's contract (node i at base + i - 1); pick a random base.
  const apiBase = 20_000 + Math.floor(Math.random() * 10_000);
  const p2pBase = apiBase + 10_000;
  const flags = ["--dir", dir, "--api-port", String(apiBase), "--p2p-port", String(p2pBase)];
  const child = spawn(process.execPath, [CLI, "devnet", ...args, ...flags, "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
    ...(env && { env }),
  });
  started.push(child.pid!);
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d) => {
    out.stdout += d;
  });
  child.stderr.on("data", (d) => {
    out.stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const table = await waitFor(
    async () => {
      try {
        return JSON.parse(out.stdout) as { nodes: DevnetNode[] };
      } catch {
        return undefined;
      }
    },
    60_000,
    "the devnet table",
  );
  for (const n of table.nodes) started.push(n.pid);
  return { child, exited, table, out, dir, apiBase, p2pBase };
}

describe("lotchain devnet", () => {
  it("starts N connected nodes, prints the table, and stops every node on Ctrl-C", async () => {
    const { child, exited, table, apiBase, p2pBase } = await startDevnet(
      ["--nodes", "2"],
      "lotchain-devnet-",
      // The devnet plans each node's key, peers and addresses: variables of those flags, set
      // for another use, must not reach its nodes.
      { ...process.env, LOTCHAIN_BOOTSTRAP: "not-an-address", LOTCHAIN_P2P_HOST: "::1" },
    );
    expect(table.nodes[0]!.apiUrl).toBe(`http://127.0.0.1:${apiBase}`);
    expect(table.nodes[1]!.p2p).toBe(`127.0.0.1:${p2pBase + 1}`);
    for (const n of table.nodes) {
      const status = await waitFor(
        async () => {
          const s = (await getJson(`${n.apiUrl}/v1/status`)).body;
          return s.peers >= 1 ? s : undefined;
        },
        30_000,
        `${n.name} to connect`,
      );
      expect(status.chainId).toBe("lotchain-devnet");
    }
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    for (const n of table.nodes) expect(alive(n.pid), n.name).toBe(false);
  });

  it("--consensus pow: a generated PoW genesis, every node mining with its own key, one chain", async () => {
    const { child, exited, table, dir } = await startDevnet(
      ["--nodes", "2", "--consensus", "pow"],
      "lotchain-devnet-pow-",
    );
    expect(table.nodes.map((n) => n.role)).toEqual(["miner", "miner"]);
    const miners = table.nodes.map((n) => n.key);
    expect(new Set(miners).size).toBe(2);
    const genesis = JSON.parse(readFileSync(join(dir, "genesis-pow.json"), "utf8"));
    expect(genesis.consensus.type).toBe("pow");
    // Both nodes mine and agree: a common block at height 3, reached by each.
    const [a, b] = table.nodes as [(typeof table.nodes)[0], (typeof table.nodes)[0]];
    await waitFor(
      async () => {
        const [sa, sb] = await Promise.all(
          [a, b].map(async (n) => (await getJson(`${n.apiUrl}/v1/status`)).body),
        );
        return sa.peers >= 1 && sb.peers >= 1 && sa.height >= 3 && sb.height >= 3;
      },
      180_000,
      "both nodes connected and at height 3",
    );
    const [blockA, blockB] = await Promise.all(
      [a, b].map(async (n) => (await getJson(`${n.apiUrl}/v1/blocks/3`)).body),
    );
    expect(blockA.hash).toBe(blockB.hash);
    for (let height = 1; height <= 3; height++) {
      const block = (await getJson(`${a.apiUrl}/v1/blocks/${height}`)).body;
      expect(block.target).toMatch(/^[0-9a-f]{64}$/);
      expect(BigInt(`0x${block.hash}`) <= BigInt(`0x${block.target}`)).toBe(true);
      expect(miners).toContain(addressFromPublicKey(Buffer.from(block.forger, "hex")));
    }
    expect((await getJson(`${a.apiUrl}/v1/status`)).body.consensus).toBe("pow");
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    for (const n of table.nodes) expect(alive(n.pid), n.name).toBe(false);
  }, 240_000);

  it("stops with a one-line error when a node dies from a signal", async () => {
    const { exited, table, out } = await startDevnet(["--nodes", "1"], "lotchain-devnet-");
    const pid = table.nodes[0]!.pid;
    process.kill(pid, "SIGKILL");
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r("still running"), 10_000)),
    ]);
    expect(code).toBe(1);
    expect(out.stderr).toMatch(/^lotchain: node1 exited \(SIGKILL\)/);
  });
});

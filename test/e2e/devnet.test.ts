import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
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

describe("lotchain devnet", () => {
  it("starts N connected nodes, prints the table, and stops every node on Ctrl-C", async () => {
    const dir = tempDir("lotchain-devnet-");
    // Fixed ports are the devnet's contract (node i at base + i - 1); pick a random base.
    const apiBase = 20_000 + Math.floor(Math.random() * 10_000);
    const p2pBase = apiBase + 10_000;
    const child = spawn(
      process.execPath,
      [
        CLI,
        "devnet",
        "--nodes",
        "2",
        "--dir",
        dir,
        "--api-port",
        String(apiBase),
        "--p2p-port",
        String(p2pBase),
        "--json",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        // The devnet plans each node's key, peers and addresses: variables of those flags, set
        // for another use, must not reach its nodes.
        env: { ...process.env, LOTCHAIN_BOOTSTRAP: "not-an-address", LOTCHAIN_P2P_HOST: "::1" },
      },
    );
    started.push(child.pid!);
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const table = await waitFor(
      async () => {
        try {
          return JSON.parse(stdout) as {
            nodes: { name: string; apiUrl: string; p2p: string; role: string; pid: number }[];
          };
        } catch {
          return undefined;
        }
      },
      60_000,
      "the devnet table",
    );
    expect(table.nodes.map((n) => n.name)).toEqual(["node1", "node2"]);
    for (const n of table.nodes) started.push(n.pid);
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

  it("stops with a one-line error when a node dies from a signal", async () => {
    const dir = tempDir("lotchain-devnet-");
    const apiBase = 20_000 + Math.floor(Math.random() * 10_000);
    const child = spawn(
      process.execPath,
      [
        CLI,
        "devnet",
        "--nodes",
        "1",
        "--dir",
        dir,
        "--api-port",
        String(apiBase),
        "--p2p-port",
        String(apiBase + 10_000),
        "--json",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    started.push(child.pid!);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const table = await waitFor(
      async () => {
        try {
          return JSON.parse(stdout) as { nodes: { pid: number }[] };
        } catch {
          return undefined;
        }
      },
      60_000,
      "the devnet table",
    );
    const pid = table.nodes[0]!.pid;
    started.push(pid);
    process.kill(pid, "SIGKILL");
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r("still running"), 10_000)),
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^lotchain: node1 exited \(SIGKILL\)/);
  });
});

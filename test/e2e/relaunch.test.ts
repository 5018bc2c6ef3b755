import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MIN_NODE_MAJOR } from "../../src/cli/runtime.js";
import { CLI, getJson, REPO, tempDir, waitFor } from "../helpers/node-process.js";

/**
 * README: the bin relaunches itself on the pinned Node 24 when an older Node starts it. These
 * tests start the compiled bin with an older Node found on the PATH (the system Node of a machine
 * whose npm scripts run on the pinned one), and see which runtimes ran: a preload given through
 * NODE_OPTIONS, which both the first process and its relaunch inherit, records each one's
 * version and pid. Without an older Node on the PATH they are skipped with a notice.
 */
function olderNode(): { path: string; version: string } | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const path = join(dir, "node");
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    const version = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout.trim();
    const major = Number(/^v(\d+)\./.exec(version)?.[1]);
    if (major < MIN_NODE_MAJOR) return { path, version };
  }
  return undefined;
}

const older = olderNode();
if (!older)
  console.warn(`no Node older than ${MIN_NODE_MAJOR} on the PATH: the relaunch tests are skipped`);

const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
});

/** A preload that appends "<version> <pid>" of every process that loads it to `file`. */
function recorder(): { env: NodeJS.ProcessEnv; runs: () => { version: string; pid: number }[] } {
  const dir = tempDir("lotchain-relaunch-");
  const file = join(dir, "runs.txt");
  const preload = join(dir, "record.mjs");
  writeFileSync(file, "");
  writeFileSync(
    preload,
    `import { appendFileSync } from "node:fs";\nappendFileSync(${JSON.stringify(file)}, \`\${process.version} \${process.pid}\\n\`);\n`,
  );
  return {
    env: { ...process.env, NODE_OPTIONS: `--import=${preload}` },
    runs: () =>
      readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [version, pid] = line.split(" ");
          return { version: version!, pid: Number(pid) };
        }),
  };
}

describe("the bin started by an older Node", () => {
  it.skipIf(!older)(
    "runs the command again on the pinned Node 24, with its output and exit code",
    () => {
      const { env, runs } = recorder();
      const key = join(REPO, "devnet", "keys", "genesisPrivateKey.pem");
      const ok = spawnSync(older!.path, [CLI, "address", "--key", key, "--json"], {
        env,
        encoding: "utf8",
      });
      expect(ok.stderr).toBe("");
      expect(ok.status).toBe(0);
      expect(JSON.parse(ok.stdout).address).toMatch(/^lc1/);
      const versions = runs().map((r) => r.version);
      expect(versions).toEqual([older!.version, process.version]);
      expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(MIN_NODE_MAJOR);

      // a failing command fails the same way through the relaunch: one line, non-zero
      const bad = spawnSync(older!.path, [CLI, "address", "--key", "/nonexistent.pem"], {
        env,
        encoding: "utf8",
      });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    },
  );

  it.skipIf(!older)("passes SIGTERM on to the relaunched node, which stops cleanly", async () => {
    const { env, runs } = recorder();
    const dir = tempDir("lotchain-relaunch-node-");
    const child = spawn(
      older!.path,
      [CLI, "node", "--data-dir", dir, "--api-port", "0", "--p2p-port", "0"],
      { env, stdio: ["ignore", "pipe", "pipe"] },
    );
    pids.push(child.pid!);
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const url = await waitFor(
      async () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1],
      60_000,
      "the node's API URL",
    );
    await waitFor(async () => (await getJson(`${url}/v1/status`)).status === 200, 60_000, "ready");
    const [first, relaunched] = runs();
    expect(first).toMatchObject({ version: older!.version, pid: child.pid });
    expect(relaunched!.version).toBe(process.version);
    pids.push(relaunched!.pid);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const gone = (pid: number) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    await waitFor(async () => gone(relaunched!.pid), 20_000, "the relaunched node to exit");
    expect(out).toContain("stopped");
  });
});

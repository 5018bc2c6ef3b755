import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import ora from "ora";
import { bigIntToBytes, toHex } from "../core/bytes.js";
import { genesisToJson, parseGenesis } from "../core/genesis.js";
import { generateKeyPair, type KeyPair } from "../core/keys.js";
import { DEFAULT_POW_TARGET } from "./genesis.js";
import { readKeyFile, writeKeyFile } from "./keyfile.js";
import { addJson, opt, parseIntArg } from "./options.js";
import { CliError, type JsonFlag, print } from "./output.js";
import { bundledGenesisPath, bundledKeyPath, cliEntryPath } from "./paths.js";

interface DevnetFlags extends JsonFlag {
  nodes: number;
  consensus: string;
  dir: string;
  apiPort: number;
  p2pPort: number;
}

export interface DevnetNode {
  name: string;
  apiUrl: string;
  p2p: string;
  key: string | null;
  role: string;
  dataDir: string;
  log: string;
}

/** A key file in the devnet directory, created once and reused on later runs. */
function devnetKey(dir: string, name: string): { file: string; key: KeyPair } {
  const file = join(dir, "keys", `${name}.pem`);
  if (!existsSync(file)) writeKeyFile(file, generateKeyPair());
  return { file, key: readKeyFile(file) };
}

/**
 * The plan of a devnet. PoS: the bundled genesis; node1 forges with the genesis key, node2 with
 * the staker key (alice of the demo), the others are full nodes. PoW: a genesis generated once in
 * the directory; every node mines with its own key, and the bundled exchange key stays the
 * exchange authority so the demo runs on both.
 */
function planDevnet(
  flags: DevnetFlags,
  dir: string,
): { genesisFile: string; nodes: (DevnetNode & { keyFile?: string })[] } {
  mkdirSync(join(dir, "keys"), { recursive: true });
  let genesisFile = bundledGenesisPath();
  const keyFiles: (string | undefined)[] = [];
  if (flags.consensus === "pow") {
    genesisFile = join(dir, "genesis-pow.json");
    for (let i = 1; i <= flags.nodes; i++) keyFiles.push(devnetKey(dir, `miner${i}`).file);
    if (!existsSync(genesisFile)) {
      const exchange = readKeyFile(bundledKeyPath("exchange")).address;
      const genesis = parseGenesis({
        chainId: "lotchain-devnet-pow",
        timestamp: Date.now(),
        consensus: {
          type: "pow",
          targetBlockMs: 2000,
          initialTarget: toHex(bigIntToBytes(DEFAULT_POW_TARGET, 32)),
        },
        alloc: { [exchange]: "1000000" },
        validators: {},
        exchange: [exchange],
        blockReward: "50",
        minFee: "0",
      });
      writeFileSync(genesisFile, `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`);
    }
  } else {
    keyFiles.push(bundledKeyPath("genesis"), bundledKeyPath("staker"));
  }
  const nodes = [];
  for (let i = 1; i <= flags.nodes; i++) {
    const keyFile = keyFiles[i - 1];
    const role =
      flags.consensus === "pow"
        ? "miner"
        : i === 1
          ? "validator (genesis key)"
          : i === 2
            ? "validator (staker key, alice)"
            : "full node";
    nodes.push({
      name: `node${i}`,
      apiUrl: `http://127.0.0.1:${flags.apiPort + i - 1}`,
      p2p: `127.0.0.1:${flags.p2pPort + i - 1}`,
      key: keyFile ? readKeyFile(keyFile).address : null,
      keyFile,
      role,
      dataDir: join(dir, `node${i}`),
      log: join(dir, `node${i}.log`),
    });
  }
  return { genesisFile, nodes };
}

/**
 * The environment of a devnet node: the devnet decides each node's key, peers and addresses, so
 * the LOTCHAIN_* variables of those flags (read by `lotchain node` too) are not passed on; a
 * LOTCHAIN_KEY meant for something else would turn every full node into a validator.
 */
const PLANNED_ENV = ["KEY", "BOOTSTRAP", "API_HOST", "P2P_HOST", "DATA_DIR", "GENESIS"].map(
  (flag) => `LOTCHAIN_${flag}`,
);
function nodeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of PLANNED_ENV) delete env[name];
  return env;
}

/** A child killed by a signal has no exit code, only a signal code: both say it has exited. */
const isRunning = (child: ChildProcess): boolean =>
  child.exitCode === null && child.signalCode === null;

/** How long the nodes get to stop on Ctrl-C before they are killed. */
const STOP_TIMEOUT_MS = 30_000;

function startNode(
  node: DevnetNode & { keyFile?: string },
  genesisFile: string,
  bootstrap: string | undefined,
): ChildProcess {
  const args = [
    cliEntryPath(),
    "node",
    "--data-dir",
    node.dataDir,
    "--genesis",
    genesisFile,
    "--api-port",
    node.apiUrl.split(":").pop()!,
    "--p2p-port",
    node.p2p.split(":").pop()!,
  ];
  if (node.keyFile) args.push("--key", node.keyFile);
  if (bootstrap) args.push("--bootstrap", bootstrap);
  const log = createWriteStream(node.log, { flags: "a" });
  const child = spawn(process.execPath, args, {
    env: nodeEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(child))
      throw new CliError(
        `a node exited during start-up (${child.exitCode !== null ? `code ${child.exitCode}` : child.signalCode})`,
      );
    try {
      const res = await fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new CliError(`${url} not ready after ${timeoutMs} ms`);
}

export function registerDevnetCommand(program: Command): void {
  addJson(
    program
      .command("devnet")
      .description("start a local network of N nodes on 127.0.0.1 (Ctrl-C stops them all)")
      .addOption(
        opt("--nodes <n>", "how many nodes")
          .argParser(parseIntArg("--nodes", 1, 32))
          .default(3),
      )
      .addOption(
        opt("--consensus <type>", "pos (bundled genesis) or pow (generated genesis)").default(
          "pos",
        ),
      )
      .addOption(opt("--dir <dir>", "data, keys and logs of the nodes").default("./devnet-data"))
      .addOption(
        opt("--api-port <n>", "API port of node1; node i uses port + i - 1")
          .argParser(parseIntArg("--api-port", 1, 65000))
          .default(5000),
      )
      .addOption(
        opt("--p2p-port <n>", "p2p port of node1; node i uses port + i - 1")
          .argParser(parseIntArg("--p2p-port", 1, 65000))
          .default(10001),
      ),
  ).action(async (flags: DevnetFlags) => {
    if (flags.consensus !== "pos" && flags.consensus !== "pow")
      throw new CliError(`--consensus must be pos or pow, got "${flags.consensus}"`);
    const dir = resolve(flags.dir);
    const plan = planDevnet(flags, dir);
    const children: ChildProcess[] = [];
    let stopping = false;
    const stopAll = async (code: number) => {
      if (stopping) return;
      stopping = true;
      for (const child of children) if (isRunning(child)) child.kill("SIGTERM");
      // A node that does not stop in time is killed: Ctrl-C must not hang the devnet.
      const kill = setTimeout(() => {
        for (const child of children) if (isRunning(child)) child.kill("SIGKILL");
      }, STOP_TIMEOUT_MS);
      kill.unref();
      await Promise.all(
        children.map((child) =>
          isRunning(child) ? new Promise((r) => child.once("exit", r)) : undefined,
        ),
      );
      process.exit(code);
    };
    process.on("SIGINT", () => void stopAll(0));
    process.on("SIGTERM", () => void stopAll(0));
    // On a terminal, a spinner on stderr tells which node is starting (ora is silent elsewhere).
    const spinner = ora({ stream: process.stderr, isSilent: !process.stderr.isTTY });
    try {
      const first = plan.nodes[0]!;
      for (const [i, node] of plan.nodes.entries()) {
        spinner.start(`starting ${node.name} (${i + 1} of ${plan.nodes.length}) at ${node.apiUrl}`);
        const child = startNode(node, plan.genesisFile, node === first ? undefined : first.p2p);
        children.push(child);
        child.once("exit", (code, signal) => {
          if (!stopping) {
            const how = code !== null ? `code ${code}` : signal;
            process.stderr.write(`lotchain: ${node.name} exited (${how}); see ${node.log}\n`);
            void stopAll(1);
          }
        });
        await waitReady(node.apiUrl, child, 60_000);
        spinner.succeed(`${node.name} ready at ${node.apiUrl}`);
      }
    } catch (e) {
      spinner.stop();
      process.stderr.write(`lotchain: ${(e as Error).message}\n`);
      await stopAll(1);
      return;
    }
    const rows = plan.nodes.map(({ keyFile: _k, ...n }, i) => ({
      ...n,
      pid: children[i]!.pid ?? null,
    }));
    print(flags, { genesis: plan.genesisFile, dir, nodes: rows }, () =>
      [
        `lotchain devnet: ${rows.length} nodes, ${flags.consensus.toUpperCase()}, genesis ${plan.genesisFile}`,
        "",
        `${"name".padEnd(7)}${"API".padEnd(24)}${"p2p".padEnd(18)}${"key".padEnd(44)}role`,
        ...rows.map(
          (n) =>
            `${n.name.padEnd(7)}${n.apiUrl.padEnd(24)}${n.p2p.padEnd(18)}${(n.key ?? "-").padEnd(44)}${n.role}`,
        ),
        "",
        `explorer: ${rows[0]!.apiUrl}/   API docs: ${rows[0]!.apiUrl}/docs   logs: ${dir}/node*.log`,
        "Ctrl-C stops every node.",
      ].join("\n"),
    );
  });
}

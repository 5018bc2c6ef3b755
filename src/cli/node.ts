import { resolve } from "node:path";
import type { Command } from "commander";
import pino from "pino";
import { DEFAULT_MEMPOOL_LIMITS } from "../chain/mempool.js";
import { genesisBlock } from "../core/genesis.js";
import type { LotchainNode } from "../node/node.js";
import { readGenesisFile } from "./genesis-file.js";
import { isKeyFileExposed, loadKey } from "./keyfile.js";
import { addJson, collect, opt, parseIntArg, passwordFileOption } from "./options.js";
import { CliError } from "./output.js";
import { bundledGenesisPath } from "./paths.js";

interface NodeFlags {
  dataDir: string;
  genesis?: string;
  key?: string;
  passwordFile?: string;
  p2pPort: number;
  p2pHost: string;
  apiPort: number;
  apiHost: string;
  bootstrap?: string[];
  mdns?: boolean;
  logLevel: string;
  forgeEmptyBlocks?: boolean;
  adminToken?: string;
  rateLimit: number;
  readRateLimit: number;
  mempoolSize: number;
  verifyThreads?: number;
  json?: boolean;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function registerNodeCommand(program: Command): void {
  addJson(program.command("node"))
    .description("run a node: validate, relay, and with --key forge (PoS) or mine (PoW)")
    .addOption(opt("--data-dir <dir>", "where the chain is stored").default("./data"))
    .addOption(opt("--genesis <file>", "genesis file (default: the bundled devnet genesis)"))
    .addOption(opt("--key <file>", "private key (PEM or keystore): forge or mine with it"))
    .addOption(passwordFileOption())
    .addOption(
      opt("--p2p-port <n>", "libp2p TCP port")
        .argParser(parseIntArg("--p2p-port", 0, 65535))
        .default(10001),
    )
    .addOption(opt("--p2p-host <host>", "libp2p listen address").default("127.0.0.1"))
    .addOption(
      opt("--api-port <n>", "REST API port")
        .argParser(parseIntArg("--api-port", 0, 65535))
        .default(5000),
    )
    .addOption(opt("--api-host <host>", "REST API listen address").default("127.0.0.1"))
    .addOption(
      opt("--bootstrap <addr>", "peer to join: host:port or a multiaddr (repeatable)").argParser(
        collect,
      ),
    )
    .addOption(opt("--mdns", "discover peers on the local network"))
    .addOption(opt("--log-level <level>", LOG_LEVELS.join(" | ")).default("info"))
    .addOption(
      opt("--forge-empty-blocks", "PoS: forge in every won slot, even without transactions"),
    )
    .addOption(
      opt(
        "--admin-token <token>",
        "enable the admin routes (ban/unban peers) with this bearer token",
      ),
    )
    .addOption(
      opt("--rate-limit <n>", "POST requests per second per client (0: no limit)")
        .argParser(parseIntArg("--rate-limit"))
        .default(1000),
    )
    .addOption(
      opt("--read-rate-limit <n>", "GET requests per second per client (0: no limit)")
        .argParser(parseIntArg("--read-rate-limit"))
        .default(1000),
    )
    .addOption(
      opt("--mempool-size <n>", "pending transactions the node keeps at most")
        .argParser(parseIntArg("--mempool-size", 1))
        .default(DEFAULT_MEMPOOL_LIMITS.maxCount),
    )
    .addOption(
      opt(
        "--verify-threads <n>",
        "signature verification threads (default: one a core; 0: on the event loop)",
      ).argParser(parseIntArg("--verify-threads", 0, 64)),
    )
    .action(async (flags: NodeFlags) => {
      if (!LOG_LEVELS.includes(flags.logLevel))
        throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
      const genesis = readGenesisFile(flags.genesis ?? bundledGenesisPath());
      const loaded = flags.key ? await loadKey(flags.key, flags) : undefined;
      const key = loaded?.key;
      const bootstrap = flags.bootstrap ?? [];
      const logger = pino({ level: flags.logLevel, base: { node: flags.apiPort } });
      // The bundled devnet's keys are public test keys anyway (and git checks them out 0644); on
      // any other chain a readable or plaintext key is one copied file away from a stolen stake.
      const devnet = isBundledDevnet(genesis);
      if (flags.key && !devnet && isKeyFileExposed(flags.key))
        logger.warn({ file: flags.key }, "the key file is readable by other users; chmod 600 it");
      if (flags.key && loaded && !loaded.encrypted && !devnet)
        logger.warn(
          { file: flags.key },
          `the key file is plaintext: encrypt it with \`lotchain keygen --encrypt --from ${flags.key} --out ${flags.key.replace(/\.pem$/, "")}.json\` and start with --key on the keystore`,
        );
      // Signals are handled from here on: one that arrives while the node is starting stops it
      // as soon as it has started (its store open, its listeners up), and cleanly.
      let node: LotchainNode | undefined;
      let stopRequested = false;
      let signals = 0;
      const stop = (started: LotchainNode) =>
        started
          .stop()
          .then(() => process.exit(0))
          .catch((e) => {
            logger.error({ err: e }, "stop failed");
            process.exit(1);
          });
      const shutdown = (signal: string) => {
        if (++signals > 1) process.exit(130);
        logger.info({ signal }, "stopping");
        if (node) void stop(node);
        else stopRequested = true;
      };
      process.on("SIGINT", () => shutdown("SIGINT"));
      process.on("SIGTERM", () => shutdown("SIGTERM"));
      // Loaded here, not at the top: the other commands start without libp2p and Fastify.
      const { LotchainNode: Node } = await import("../node/node.js");
      try {
        node = await Node.start({
          dataDir: resolve(flags.dataDir),
          genesis,
          key,
          api: {
            host: flags.apiHost,
            port: flags.apiPort,
            rateLimitPerSecond: flags.rateLimit,
            adminToken: flags.adminToken,
            limits: { getRatePerSecond: flags.readRateLimit },
          },
          p2p: { host: flags.p2pHost, port: flags.p2pPort, bootstrap, mdns: flags.mdns ?? false },
          forgeEmptyBlocks: flags.forgeEmptyBlocks ?? false,
          mempoolLimits: { maxCount: flags.mempoolSize },
          verifyThreads: flags.verifyThreads,
          logger,
        });
      } catch (e) {
        throw new CliError(startFailure(e));
      }
      if (stopRequested) void stop(node);
    });
}

/** A start-up failure a user can act on, in one line. */
function startFailure(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err.code ?? err.cause?.code;
  if (code === "EADDRINUSE") return `cannot listen: address in use (${err.message})`;
  if (code === "LEVEL_DATABASE_NOT_OPEN" || code === "LEVEL_LOCKED")
    return `cannot open the data directory (is another node using it?): ${err.cause?.message ?? err.message}`;
  if (/\block\b/i.test(err.message ?? ""))
    return `${err.message} (is another node using this data directory?)`;
  return err.message ?? String(e);
}

/** Whether a genesis is the bundled devnet's (the same genesis block). */
function isBundledDevnet(genesis: Parameters<typeof genesisBlock>[0]): boolean {
  return (
    genesisBlock(genesis).hashHex === genesisBlock(readGenesisFile(bundledGenesisPath())).hashHex
  );
}

import { rmSync } from "node:fs";
import pino from "pino";
import type { ApiLimits } from "../../src/api/limits.js";
import { parseGenesis } from "../../src/core/genesis.js";
import type { KeyPair } from "../../src/core/keys.js";
import { LotchainNode } from "../../src/node/node.js";
import { tempDir } from "../helpers/node-process.js";

export interface TestNode {
  node: LotchainNode;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

/** A real node in this process: real chain on LevelDB in a temp dir, real API on 127.0.0.1:0. */
export async function startTestNode(opts: {
  genesis: object;
  key?: KeyPair;
  dataDir?: string;
  rateLimitPerSecond?: number;
  adminToken?: string;
  apiLimits?: Partial<ApiLimits>;
  forgeEmptyBlocks?: boolean;
  /** the node's clock (mempool arrival times and expiry) */
  now?: () => number;
  mempoolPruneIntervalMs?: number;
}): Promise<TestNode> {
  const dataDir = opts.dataDir ?? tempDir();
  const node = await LotchainNode.start({
    dataDir,
    genesis: parseGenesis(opts.genesis),
    key: opts.key,
    api: {
      host: "127.0.0.1",
      port: 0,
      rateLimitPerSecond: opts.rateLimitPerSecond ?? 0,
      adminToken: opts.adminToken,
      limits: opts.apiLimits,
    },
    forgeEmptyBlocks: opts.forgeEmptyBlocks,
    logger: pino({ level: process.env.LOTCHAIN_TEST_LOG ?? "silent" }),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.mempoolPruneIntervalMs ? { mempoolPruneIntervalMs: opts.mempoolPruneIntervalMs } : {}),
  });
  return {
    node,
    url: node.apiUrl,
    dataDir,
    async close() {
      await node.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function posGenesis(parts: {
  chainId?: string;
  validator: KeyPair;
  exchange?: KeyPair;
  alloc?: Record<string, string>;
  slotMs?: number;
  minFee?: string;
  blockReward?: string;
}): object {
  return {
    chainId: parts.chainId ?? "lotchain-apitest",
    timestamp: Date.now() - 1000,
    consensus: { type: "pos", slotMs: parts.slotMs ?? 100, finalityDepth: 16 },
    alloc: parts.alloc ?? {},
    validators: { [parts.validator.address]: "10" },
    exchange: parts.exchange ? [parts.exchange.address] : [],
    blockReward: parts.blockReward ?? "0",
    minFee: parts.minFee ?? "1",
  };
}

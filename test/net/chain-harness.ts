import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import type { Chain, ReorgEvent } from "../../src/chain/chain.js";
import { Mempool } from "../../src/chain/mempool.js";
import type { Block } from "../../src/core/block.js";
import { isValidationError, reject } from "../../src/core/errors.js";
import { type Genesis, genesisToJson, parseGenesis } from "../../src/core/genesis.js";
import { ChainNetwork, type ChainNetworkOptions } from "../../src/net/chain-network.js";
import { openChain } from "../chain/chain-fixtures.js";

/**
 * Real lotchain network nodes in one process for tests: a Chain on LevelDB in a temp dir, a
 * Mempool, and a ChainNetwork on 127.0.0.1 (port 0), wired as src/node/node.ts wires them
 * (included transactions leave the mempool, reverted ones go back). cleanup() stops everything.
 */
export interface ChainTestNode {
  name: string;
  dir: string;
  chain: Chain;
  mempool: Mempool;
  net: ChainNetwork;
  imported: { block: Block; source: "gossip" | "sync" }[];
  rejected: string[];
  reorgs: ReorgEvent[];
  /** log lines (debug and up) as parsed JSON */
  logs: { msg: string; [key: string]: unknown }[];
}

export interface NodeSetup {
  /** peers to bootstrap from */
  bootstrap?: ChainTestNode[];
  /** blocks imported into the chain before the network starts */
  blocks?: Block[];
  options?: Partial<
    Omit<ChainNetworkOptions, "chain" | "mempool" | "genesis" | "dataDir" | "logger">
  >;
}

function capture(name: string, lines: ChainTestNode["logs"]): Logger {
  const level = process.env.LOG_LEVEL;
  return pino(
    { level: "debug", base: { node: name } },
    {
      write: (line: string) => {
        const entry = JSON.parse(line) as ChainTestNode["logs"][number] & { level: number };
        lines.push(entry);
        if (level !== undefined && entry.level >= pino.levels.values[level]!)
          process.stderr.write(line);
      },
    },
  );
}

export class ChainTestNet {
  readonly #nodes: ChainTestNode[] = [];
  readonly #dirs: string[] = [];
  #count = 0;

  async node(genesis: Genesis, setup: NodeSetup = {}): Promise<ChainTestNode> {
    const name = `n${this.#count++}`;
    const dir = await mkdtemp(join(tmpdir(), "lotchain-chainnet-"));
    this.#dirs.push(dir);
    const chain = await openChain(dir, genesis);
    for (const block of setup.blocks ?? []) await chain.importBlock(block);
    const mempool = new Mempool({
      params: chain.params,
      state: () => chain.stateView(),
      isIncluded: (id) => chain.hasTransaction(id),
      signatures: chain.signatures,
    });
    const logs: ChainTestNode["logs"] = [];
    const imported: ChainTestNode["imported"] = [];
    const rejected: string[] = [];
    const reorgs: ReorgEvent[] = [];
    chain.on("head", (e) => {
      for (const block of e.applied) mempool.removeIncluded(block.transactions);
    });
    chain.on("reorg", (e) => {
      reorgs.push(e);
      mempool.reinject(e.revertedTransactions);
    });
    const net = new ChainNetwork({
      host: "127.0.0.1",
      port: 0,
      bootstrap: (setup.bootstrap ?? []).map((peer) => peer.net.listenAddresses()[0]!),
      mdns: false,
      dataDir: dir,
      genesis,
      chain,
      mempool,
      logger: capture(name, logs),
      onTransactions: async (txs) =>
        txs.map((tx) => {
          try {
            if (chain.hasTransaction(tx.id)) reject("AlreadyIncluded", `${tx.id} is in a block`);
            mempool.add(tx);
            return undefined;
          } catch (e) {
            if (isValidationError(e)) return e;
            throw e;
          }
        }),
      knownTransaction: (id) => mempool.has(id),
      onBlockImported: (block, source) => imported.push({ block, source }),
      onBlockRejected: (code) => rejected.push(code),
      ...setup.options,
      p2p: { reconnectBaseMs: 200, reconnectMaxMs: 1_000, ...setup.options?.p2p },
    });
    const node: ChainTestNode = {
      name,
      dir,
      chain,
      mempool,
      net,
      imported,
      rejected,
      reorgs,
      logs,
    };
    this.#nodes.push(node);
    await net.start();
    return node;
  }

  async cleanup(): Promise<void> {
    const nodes = this.#nodes.splice(0);
    await Promise.all(nodes.map((n) => n.net.stop()));
    await Promise.all(nodes.map((n) => n.chain.close()));
    await Promise.all(this.#dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** The same genesis under another chain id. */
export function withChainId(genesis: Genesis, chainId: string): Genesis {
  return parseGenesis({ ...genesisToJson(genesis), chainId });
}

export function isPeer(node: ChainTestNode, other: { peerId: string }): boolean {
  return node.net.status().peers.some((p) => p.peerId === other.peerId);
}

export function scoreOf(node: ChainTestNode, peerId: string): number | undefined {
  return node.net.status().peers.find((p) => p.peerId === peerId)?.score;
}

/** Whether the node's chain status of `other` is known (the status handshake completed). */
export function knows(node: ChainTestNode, other: ChainTestNode): boolean {
  return node.net.peerChains().some((p) => p.peerId === other.net.peerId);
}

export function logged(node: ChainTestNode, msg: string): ChainTestNode["logs"] {
  return node.logs.filter((line) => line.msg === msg);
}

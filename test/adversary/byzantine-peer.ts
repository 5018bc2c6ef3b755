import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pino } from "pino";
import { expect } from "vitest";
import {
  EMPTY_ACCUMULATOR,
  epochOf,
  nextEpochNonce,
  proveRandomness,
} from "../../src/consensus/index.js";
import { type Block, makeBlock, sealBlock } from "../../src/core/block.js";
import { parseHex } from "../../src/core/bytes.js";
import { POS_DEFAULTS } from "../../src/core/genesis.js";
import { type KeyPair, privateKeySeed } from "../../src/core/keys.js";
import type { Transaction } from "../../src/core/transaction.js";
import { vrfSecretKey } from "../../src/core/vrf.js";
import { P2PNode, type RequestHandler } from "../../src/net/p2p.js";
import { type ChainProtocols, chainProtocols, WIRE_LIMITS } from "../../src/net/protocols.js";
import { type ChainStatus, encodeStatus } from "../../src/net/wire.js";
import {
  account,
  block,
  type Cluster,
  type ClusterNode,
  eventually,
  status,
} from "../helpers/cluster.js";
import { getJson } from "../helpers/node-process.js";

/** A node's peers with their scores (GET /v1/peers). */
export async function getPeerViews(
  node: ClusterNode,
): Promise<{ peerId: string; score: number }[]> {
  const { status: code, body } = await getJson<any>(`${node.apiUrl}/v1/peers`);
  if (code !== 200) throw new Error(`${node.name} GET /v1/peers: ${code}`);
  return Array.isArray(body) ? body : body.peers;
}

/**
 * A byzantine peer: a real libp2p node (lotchain's own bytes-level P2PNode, so it speaks the
 * real transports, gossipsub and request/response framing) scripted per attack. It publishes
 * what it likes on the gossip topics, sends any bytes as requests, and answers the nodes'
 * status and sync requests with whatever the attack says. It holds no stake.
 */
export class ByzantinePeer {
  private constructor(
    readonly node: P2PNode,
    readonly ids: ChainProtocols,
  ) {}

  static async start(
    cluster: Cluster,
    name: string,
    chainId: string,
    handlers: Partial<Record<"status" | "blocksByRange" | "blocksByHash", RequestHandler>> = {},
  ): Promise<ByzantinePeer> {
    const ids = chainProtocols(chainId);
    const node = await P2PNode.create({
      dataDir: join(cluster.dir, `evil-${name}`),
      host: "127.0.0.1",
      port: 0,
      bootstrap: [],
      protocolPrefix: ids.prefix,
      logger: pino({ level: "silent" }),
      // it judges nobody: every message it gets is ignored, nobody is penalised
      scoring: { gossipRejectPenalty: 0, violationPenalty: 0 },
    });
    cluster.defer(() => node.stop());
    // Large limits on its side: it sends oversized messages on purpose.
    node.subscribe(ids.txTopic, () => "ignore", 16 << 20);
    node.subscribe(ids.blockTopic, () => "ignore", 16 << 20);
    const limits = { maxRequestBytes: 1 << 20, maxResponseBytes: 16 << 20, timeoutMs: 60_000 };
    for (const [key, handler] of Object.entries(handlers))
      node.handle(ids[key as keyof typeof handlers], handler, limits);
    await node.start();
    return new ByzantinePeer(node, ids);
  }

  get peerId(): string {
    return this.node.peerId;
  }

  /** Connects to each node (a node may refuse it at once: that is fine). */
  async dial(nodes: ClusterNode[]): Promise<void> {
    for (const n of nodes)
      await this.node.connect(n.p2pAddresses[0]!, 3_000).catch(() => undefined);
  }

  /** Connects to each node and waits until both gossip topics reach it. */
  async join(nodes: ClusterNode[]): Promise<void> {
    // libp2p refuses an inbound connection now and then (its per-host inbound rate and pending
    // limits, all peers here being 127.0.0.1): a refused dial is tried again.
    for (const n of nodes)
      await eventually(
        `connected to ${n.name}`,
        () => this.node.connect(n.p2pAddresses[0]!, 3_000).then(() => true),
        10_000,
        300,
      );
    await eventually(
      "the attacker on both topics of every node",
      async () =>
        nodes.every(
          (n) =>
            this.node.topicPeers(this.ids.txTopic).includes(n.peerId) &&
            this.node.topicPeers(this.ids.blockTopic).includes(n.peerId),
        ),
      10_000,
      50,
    );
  }

  publishBlock(data: Uint8Array): Promise<number> {
    return this.node.publish(this.ids.blockTopic, data).catch(() => 0);
  }

  publishTxs(data: Uint8Array): Promise<number> {
    return this.node.publish(this.ids.txTopic, data).catch(() => 0);
  }

  /** Any bytes as a request; resolves with the error code or "ok". */
  async request(
    target: ClusterNode,
    protocol: string,
    data: Uint8Array,
    timeoutMs = 5_000,
  ): Promise<string> {
    try {
      await this.node.request(target.peerId, protocol, data, {
        maxResponseBytes: WIRE_LIMITS.syncResponseBytes + 16,
        timeoutMs,
      });
      return "ok";
    } catch (err) {
      return (err as { code?: string }).code ?? "error";
    }
  }

  /** Whether any of `nodes` still lists it as a peer. */
  async connectedTo(nodes: ClusterNode[]): Promise<boolean> {
    for (const n of nodes)
      if ((await getPeerViews(n)).some((p) => p.peerId === this.peerId)) return true;
    return false;
  }

  /** Waits until no node lists it (disconnected, and kept out if banned). */
  async cutOff(nodes: ClusterNode[], timeoutMs = 15_000): Promise<void> {
    await eventually(
      "the attacker cut off",
      async () => !(await this.connectedTo(nodes)),
      timeoutMs,
    );
  }

  stop(): Promise<void> {
    return this.node.stop();
  }
}

/** A lying status: our chain id and genesis, and a head far above anything real. */
export function liarStatus(
  chainId: string,
  genesisHash: string,
  overrides: Partial<ChainStatus> = {},
): Uint8Array {
  return encodeStatus({
    chainId,
    genesisHash,
    height: 1_000_000,
    headHash: "ee".repeat(32),
    score: 10n ** 40n,
    finalizedHeight: 0,
    ...overrides,
  });
}

const EPOCH_SLOTS = POS_DEFAULTS.epochSlots;

/** PoS blocks an unstaked key can make: valid encoding and VRF proof, but it won no slot. */
export class UnstakedForger {
  readonly #vrf;
  constructor(
    readonly key: KeyPair,
    readonly chainId: string,
    readonly genesisTimestamp: number,
    readonly slotMs: number,
  ) {
    this.#vrf = vrfSecretKey(privateKeySeed(key.privateKey));
  }

  /** A block on `parent` (its hash, height and randomness) at `slot`. */
  block(
    parent: { hash: string; height: number; randomness?: string; stateRoot?: string },
    slot: number,
    transactions: Transaction[] = [],
    forger: KeyPair = this.key,
  ): Block {
    const parentRandomness = parseHex(parent.randomness ?? "")!;
    // Only right for the genesis branch's first epochs: enough for the lottery to be what refuses.
    const nonce =
      epochOf(slot, EPOCH_SLOTS) === 0
        ? parentRandomness
        : nextEpochNonce(parentRandomness, EMPTY_ACCUMULATOR, epochOf(slot, EPOCH_SLOTS));
    return sealBlock(
      {
        chainId: this.chainId,
        height: parent.height + 1,
        previousHash: parseHex(parent.hash)!,
        timestamp: this.genesisTimestamp + slot * this.slotMs,
        forger: forger.publicKey,
        // Whatever the state: the lottery refuses the block before its state is looked at.
        stateRoot: parseHex(parent.stateRoot ?? "", 32) ?? new Uint8Array(32),
        seal: {
          type: "pos",
          slot,
          vrfProof: proveRandomness(this.chainId, slot, nonce, this.#vrf),
        },
      },
      transactions,
      this.key.privateKey,
    );
  }

  /** The same block with a signature that is not one. */
  static unsigned(b: Block): Block {
    return makeBlock(b.header, new Uint8Array(64), b.transactions);
  }
}

/** Bytes under a data directory (du, apparent sizes). */
export function dirBytes(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir]).toString().split("\t")[0]);
}

/** What must hold of the honest nodes after every attack. */
export interface Snapshot {
  heights: number[];
  bytes: number[];
  balances: string[];
}

export async function snapshotOf(nodes: ClusterNode[], watched: string[]): Promise<Snapshot> {
  return {
    heights: await Promise.all(nodes.map(async (n) => (await status(n)).height)),
    bytes: nodes.map((n) => dirBytes(n.dataDir)),
    balances: (
      await Promise.all(watched.map((a) => account(nodes[0]!, a).then((x) => x.balance)))
    ).flat(),
  };
}

/**
 * The honest nodes after an attack: they went on producing (each head grew by `minBlocks`), their
 * data directories grew by less than `maxBytes`, each one still lists the others as peers with
 * no score lost, and the watched accounts did not change.
 */
export async function expectUnharmed(
  nodes: ClusterNode[],
  before: Snapshot,
  watched: string[],
  { minBlocks = 3, maxBytes = 1 << 20 }: { minBlocks?: number; maxBytes?: number } = {},
): Promise<void> {
  await eventually(
    `the heads grow by ${minBlocks}`,
    async () => {
      const now = await Promise.all(nodes.map(async (n) => (await status(n)).height));
      return now.every((h, i) => h >= before.heights[i]! + minBlocks);
    },
    30_000,
  );
  nodes.forEach((n, i) => {
    const grown = dirBytes(n.dataDir) - before.bytes[i]!;
    expect(grown, `${n.name}'s data dir grew by ${grown} bytes`).toBeLessThan(maxBytes);
  });
  for (const n of nodes) {
    const views = await getPeerViews(n);
    for (const other of nodes) {
      if (other === n) continue;
      const view = views.find((p) => p.peerId === other.peerId);
      expect(view, `${n.name} still connected to ${other.name}`).toBeDefined();
      expect(view!.score, `${n.name}'s score of ${other.name}`).toBeGreaterThanOrEqual(0);
    }
  }
  const balances = await Promise.all(
    watched.map((a) => account(nodes[0]!, a).then((x) => x.balance)),
  );
  expect(balances).toEqual(before.balances);
}

/** The genesis block as the attacker sees it (the nodes serve it to anyone). */
export async function genesisOf(node: ClusterNode) {
  return block(node, 0);
}

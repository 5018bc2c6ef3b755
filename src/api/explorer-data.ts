import jstat from "jstat";
import { slotWinner } from "../consensus/index.js";
import type { Block, BlockHeader } from "../core/block.js";
import { toHex } from "../core/bytes.js";
import { type HeaderJson, headerToJson } from "../core/header.js";
import { isAddress } from "../core/keys.js";
import type { ChainReader, NodeApi } from "./ports.js";

/**
 * What the explorer's three pictures read, computed from the node's own chain and network: the
 * block tree around the head (side branches included), the lottery of recent slots (the seed's
 * Test.py, live) and the nodes this node knows with their heads.
 */

/** A block as the chain view draws it: its header's JSON, its transaction count, its branch. */
export type TreeBlock = HeaderJson & {
  txs: number;
  /** on the main chain (else a side branch: a fork that lost, or one that may still win) */
  main: boolean;
};

/** Blocks below the window whose side branches are still looked for (a fork may start there). */
const TREE_MARGIN = 16;
/** Blocks one tree answer holds at most (a flood of side blocks must not make it huge). */
export const TREE_MAX_BLOCKS = 1_000;

function treeBlock(block: Block, main: boolean): TreeBlock {
  return { ...headerToJson(block), txs: block.transactions.length, main };
}

/**
 * The main chain's last `depth` blocks and every stored block branching off them (or off the
 * few blocks below), in height order: what the chain view draws.
 */
export async function blockTreeView(chain: ChainReader, depth: number) {
  const head = chain.head;
  const from = Math.max(0, head.height - depth + 1);
  const start = Math.max(0, from - TREE_MARGIN);
  const main = await chain.getBlocks(start, head.height - start + 1);
  const mainHashes = new Set(main.map((b) => b.hashHex));
  const out: TreeBlock[] = [];
  const seen = new Set<string>();
  // Breadth first from the main chain through every stored child.
  let frontier = main.map((b) => b.hashHex);
  while (frontier.length > 0 && out.length < TREE_MAX_BLOCKS) {
    const next: string[] = [];
    for (const hash of frontier) {
      if (seen.has(hash)) continue;
      seen.add(hash);
      const block = await chain.getBlockByHash(hash);
      if (!block) continue;
      if (block.header.height >= from) out.push(treeBlock(block, mainHashes.has(hash)));
      if (out.length >= TREE_MAX_BLOCKS) break;
      for (const child of await chain.getChildren(hash)) if (!seen.has(child)) next.push(child);
    }
    frontier = next;
  }
  out.sort((a, b) => a.height - b.height || Number(b.main) - Number(a.main));
  return {
    head: { height: head.height, hash: head.hashHex },
    finalizedHeight: chain.finalizedHeight,
    blocks: out,
  };
}

export interface SlotResult {
  slot: number;
  /** who the lottery picked */
  winner: string;
  /** the main-chain block forged in the slot, if any (an empty slot has none) */
  block: { height: number; hash: string } | null;
}

/** Pearson's chi-squared test of observed wins against the stake shares; null with one validator. */
export function chiSquaredTest(
  rows: readonly { observed: number; expected: number }[],
): { chiSquared: number; degreesOfFreedom: number; pValue: number } | null {
  const used = rows.filter((r) => r.expected > 0);
  if (used.length < 2) return null;
  let chiSquared = 0;
  for (const r of used) chiSquared += (r.observed - r.expected) ** 2 / r.expected;
  const degreesOfFreedom = used.length - 1;
  const pValue = 1 - jstat.jStat.chisquare.cdf(chiSquared, degreesOfFreedom);
  return { chiSquared, degreesOfFreedom, pValue: Math.min(1, Math.max(0, pValue)) };
}

/** Slots one lottery answer covers at most. */
export const LOTTERY_MAX_SLOTS = 5_000;
/** Slots listed one by one (the statistics cover all `slots`). */
const LISTED_SLOTS = 120;

/**
 * The lottery of the last `slots` slots up to now (PoS): for each slot, who won and whether a
 * block came of it; for each validator, its lots (stake in base units) and share now, and its
 * wins in the window against the wins its share promised, with Pearson's chi-squared test of
 * the whole (the seed's Test.py, run on the live chain). Every slot counts, empty ones too: a
 * devnet forger forges only when it has transactions, but it wins its slots all the same.
 */
export async function lotteryView(node: NodeApi, slots: number, now = Date.now()) {
  const { chain, genesis } = node;
  const consensus = genesis.consensus;
  if (consensus.type !== "pos") return { consensus: "pow" as const };
  const currentSlot = Math.floor((now - genesis.timestamp) / consensus.slotMs);
  const fromSlot = Math.max(1, currentSlot - slots + 1);
  // Main-chain headers of the window, and the last one before it: each slot's lottery is that
  // of a child of the last block before the slot. Headers only (cached), walked back by parent.
  const blocks: LinkedBlock[] = [];
  let hashHex: string | undefined = chain.head.hashHex;
  while (hashHex !== undefined) {
    const header = chain.getHeader(hashHex);
    if (!header) break;
    blocks.push({ header, hash: Buffer.from(hashHex, "hex"), hashHex });
    if (header.height === 0 || slotOfHeader(header) < fromSlot) break;
    hashHex = toHex(header.previousHash);
  }
  blocks.reverse();
  const stats = new Map<string, { wins: number; expected: number; forged: number }>();
  const stat = (address: string) => {
    let s = stats.get(address);
    if (!s) {
      s = { wins: 0, expected: 0, forged: 0 };
      stats.set(address, s);
    }
    return s;
  };
  const listed: SlotResult[] = [];
  let counted = 0;
  let parentIndex = 0;
  for (let slot = fromSlot; slot <= currentSlot; slot++) {
    while (parentIndex + 1 < blocks.length && slotOfHeader(blocks[parentIndex + 1]!.header) < slot)
      parentIndex++;
    const parent = blocks[parentIndex];
    if (!parent || slotOfHeader(parent.header) >= slot) continue;
    const lottery = chain.lotteryAfter(parent, slot);
    if (!lottery || lottery.validators.total === 0n) continue;
    const winner = slotWinner(lottery.validators, lottery.epoch.nonce, slot);
    const child = blocks[parentIndex + 1];
    const forged = child && slotOfHeader(child.header) === slot ? child : undefined;
    counted++;
    stat(winner).wins++;
    if (forged) stat(winner).forged++;
    const { entries, total } = lottery.validators;
    for (const v of entries) stat(v.address).expected += Number(v.stake) / Number(total);
    if (slot > currentSlot - LISTED_SLOTS)
      listed.push({
        slot,
        winner,
        block: forged ? { height: forged.header.height, hash: forged.hashHex } : null,
      });
  }
  const headSet = chain.validators();
  const current = new Map(headSet.entries.map((v) => [v.address, v.stake]));
  for (const address of current.keys()) stat(address);
  const validators = [...stats.entries()]
    .map(([address, s]) => {
      const stake = current.get(address) ?? 0n;
      return {
        address,
        lots: stake.toString(),
        shareMillionths: headSet.total === 0n ? 0 : Number((stake * 1_000_000n) / headSet.total),
        wins: s.wins,
        expectedWins: s.expected,
        forged: s.forged,
      };
    })
    .sort((a, b) => b.shareMillionths - a.shareMillionths || (a.address < b.address ? -1 : 1));
  const test = chiSquaredTest(
    validators.map((v) => ({ observed: v.wins, expected: v.expectedWins })),
  );
  return {
    consensus: "pos" as const,
    slotMs: consensus.slotMs,
    currentSlot,
    fromSlot,
    slots: counted,
    totalLots: headSet.total.toString(),
    validators,
    test,
    recent: listed.reverse(),
  };
}

/** A main-chain block as the lottery walk reads it: its header and hash, no transactions. */
interface LinkedBlock {
  header: BlockHeader;
  hash: Uint8Array;
  hashHex: string;
}

function slotOfHeader(header: BlockHeader): number {
  return header.seal.type === "pos" ? header.seal.slot : 0;
}

/** One node of the network picture: its id and its head as last heard. */
export interface NetworkNode {
  peerId: string;
  height: number | null;
  headHash: string | null;
  finalizedHeight: number | null;
  /** this node */
  self: boolean;
  /**
   * How its head stands to this node's chain: the same head, an ancestor of it (behind), above
   * it (ahead: not known here yet), or off it (fork: a block this node's main chain does not hold).
   */
  relation: "same" | "behind" | "ahead" | "fork" | "unknown";
}

async function relationOf(
  chain: ChainReader,
  head: { height: number | null; headHash: string | null },
): Promise<NetworkNode["relation"]> {
  if (head.height === null || head.headHash === null) return "unknown";
  if (head.headHash === chain.head.hashHex) return "same";
  if (head.height > chain.head.height) return "ahead";
  const ours = await chain.getBlock(head.height);
  return ours?.hashHex === head.headHash ? "behind" : "fork";
}

/**
 * This node and the nodes it knows with their heads (from the status protocol), and the links
 * between them: its own connections, and those its peers report.
 */
export async function networkView(node: NodeApi) {
  const net = node.network();
  const selfId = net.peerId ?? "this-node";
  const nodes = new Map<string, NetworkNode>();
  nodes.set(selfId, {
    peerId: selfId,
    height: node.chain.head.height,
    headHash: node.chain.head.hashHex,
    finalizedHeight: node.chain.finalizedHeight,
    self: true,
    relation: "same",
  });
  const links = new Set<string>();
  const link = (a: string, b: string) => links.add(a < b ? `${a} ${b}` : `${b} ${a}`);
  const heads = new Map(node.peerHeads().map((p) => [p.peerId, p]));
  for (const peer of net.peers) {
    const head = heads.get(peer.peerId);
    nodes.set(peer.peerId, {
      peerId: peer.peerId,
      height: head?.height ?? null,
      headHash: head?.headHash ?? null,
      finalizedHeight: head?.finalizedHeight ?? null,
      self: false,
      relation: "unknown",
    });
    link(selfId, peer.peerId);
  }
  for (const reported of await node.peerNeighbours()) {
    for (const n of reported.neighbours) {
      if (!nodes.has(n.peerId))
        nodes.set(n.peerId, {
          peerId: n.peerId,
          height: n.height,
          headHash: n.headHash,
          finalizedHeight: null,
          self: false,
          relation: "unknown",
        });
      if (nodes.has(reported.peerId)) link(reported.peerId, n.peerId);
    }
  }
  for (const n of nodes.values()) if (!n.self) n.relation = await relationOf(node.chain, n);
  return {
    self: selfId,
    nodes: [...nodes.values()],
    links: [...links].map((l) => l.split(" ") as [string, string]),
  };
}

/** What a search names: blocks (height, hash, head, genesis, finalized), transactions, accounts. */
export async function searchView(
  node: NodeApi,
  query: string,
): Promise<{ kind: "block" | "transaction" | "account"; id: string }[]> {
  const q = query.trim();
  if (isAddress(q.toLowerCase())) return [{ kind: "account", id: q.toLowerCase() }];
  if (/^(0|[1-9][0-9]{0,15}|head|genesis|finalized)$/.test(q)) {
    const block = await node.chain.getBlock(q);
    // A height stays a height (a shareable link to "block 2"); head and the others move on.
    return block ? [{ kind: "block", id: /^[0-9]/.test(q) ? q : block.hashHex }] : [];
  }
  if (!/^[0-9a-fA-F]{64}$/.test(q)) return [];
  const id = q.toLowerCase();
  const out: { kind: "block" | "transaction"; id: string }[] = [];
  if (await node.chain.getBlockByHash(id)) out.push({ kind: "block", id });
  if ((await node.chain.getTransaction(id)) || node.mempool.get(id))
    out.push({ kind: "transaction", id });
  return out;
}

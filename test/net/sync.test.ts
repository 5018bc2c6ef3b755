import { afterEach, describe, expect, it } from "vitest";
import type { Block } from "../../src/core/block.js";
import { decodeRangeRequest, encodeBlockList, encodeStatus } from "../../src/net/wire.js";
import { BlockTreeModel, CHAIN_ID, KEYS, testGenesis, tx } from "../chain/chain-fixtures.js";
import { ChainTestNet, knows, logged, scoreOf } from "./chain-harness.js";
import { TestNetwork, waitFor } from "./helpers.js";

const pos = testGenesis("pos");

/** Transfers from alice to bob, one per block for the first `n` blocks. */
const transfers = (n: number) => (i: number) =>
  i < n ? [tx(KEYS.alice, i, { to: KEYS.bob, amount: 1n })] : [];

describe("sync", () => {
  const net = new ChainTestNet();
  const raw = new TestNetwork();
  afterEach(async () => {
    await raw.cleanup();
    await net.cleanup();
  });

  it("a node 600 blocks behind syncs to the same head, showing its progress", async () => {
    const model = new BlockTreeModel(pos);
    const blocks = model.extend(model.genesisBlock, 600, transfers(50));
    const a = await net.node(pos, { blocks });
    expect(a.chain.head.height).toBe(600);

    const b = await net.node(pos, { bootstrap: [a] });
    const seen: { syncing: boolean; target: number | null; bps: number | null }[] = [];
    const sampler = setInterval(() => {
      const s = b.net.status();
      seen.push({ syncing: s.syncing, target: s.syncTargetHeight, bps: s.syncBlocksPerSecond });
    }, 5);
    try {
      // A bound for a broken sync, not a speed target (the import benchmark measures speed).
      await waitFor("B at A's head", () => b.chain.head.hashHex === a.chain.head.hashHex, 60_000);
    } finally {
      clearInterval(sampler);
    }
    expect(b.chain.head.height).toBe(600);
    expect(b.chain.totalSupply()).toBe(a.chain.totalSupply());
    expect(b.chain.getAccount(KEYS.bob.address)).toEqual(a.chain.getAccount(KEYS.bob.address));
    // The head moves inside an import, before the import resolves (the chain still looks for
    // equivocation evidence in the store): the syncer's count is final once its run is over.
    await waitFor("sync over", () => b.net.status().syncTargetHeight === null);
    expect(b.net.status().syncing).toBe(false);
    expect(b.imported.filter((i) => i.source === "sync")).toHaveLength(600);
    // status() showed the sync while it ran, and not after.
    expect(seen.some((s) => s.syncing && s.target === 600)).toBe(true);
    const finished = logged(b, "sync finished");
    expect(finished.map((l) => l.imported)).toContain(600);
  });

  it("a node on a shorter PoS fork moves to the longer one; its reverted transaction returns to the mempool", async () => {
    const model = new BlockTreeModel(pos);
    const common = model.extend(model.genesisBlock, 3);
    const fork = common[2]!;
    const reverted = tx(KEYS.alice, 0, { to: KEYS.bob, amount: 7n });
    const shortBranch = model.extend(fork, 2, (i) => (i === 0 ? [reverted] : []));
    const slot = fork.header.seal.type === "pos" ? fork.header.seal.slot : 0;
    const longBranch = model.extend(fork, 5, () => [], { minSlot: slot + 100 });

    const a = await net.node(pos, { blocks: [...common, ...shortBranch] });
    expect(a.chain.head.hashHex).toBe(shortBranch[1]!.hashHex);
    const b = await net.node(pos, { blocks: [...common, ...longBranch], bootstrap: [a] });

    await waitFor("A on B's chain", () => a.chain.head.hashHex === b.chain.head.hashHex, 10_000);
    expect(a.chain.head.height).toBe(8);
    expect(a.reorgs).toHaveLength(1);
    expect(a.reorgs[0]!.commonAncestor).toEqual({ hash: fork.hashHex, height: 3 });
    expect(a.reorgs[0]!.revertedTransactions.map((t) => t.id)).toEqual([reverted.id]);
    expect(a.mempool.has(reverted.id)).toBe(true);
    expect(a.chain.hasTransaction(reverted.id)).toBe(false);
    // B stays where it is: A's branch is worse.
    expect(b.chain.head.hashHex).toBe(longBranch[4]!.hashHex);
    expect(b.reorgs).toHaveLength(0);
    expect(a.chain.totalSupply()).toBe(a.chain.expectedSupply());
  });

  it("PoW: a node behind syncs by cumulative work", async () => {
    const pow = testGenesis("pow");
    const model = new BlockTreeModel(pow);
    const blocks = model.extend(model.genesisBlock, 120, transfers(10));
    const a = await net.node(pow, { blocks });
    const b = await net.node(pow, { bootstrap: [a], blocks: blocks.slice(0, 30) });
    await waitFor("B at A's head", () => b.chain.head.hashHex === a.chain.head.hashHex, 15_000);
    expect(b.chain.head.score).toBe(a.chain.head.score);
    await waitFor("sync over", () => b.net.status().syncTargetHeight === null);
    expect(b.imported.filter((i) => i.source === "sync")).toHaveLength(90);
  });

  it("a node keeps up through periodic status polls when gossip is missed", async () => {
    const model = new BlockTreeModel(pos);
    const a = await net.node(pos);
    const b = await net.node(pos, { bootstrap: [a], options: { statusIntervalMs: 300 } });
    await waitFor("handshake", () => knows(b, a));
    // A imports blocks without publishing them: only B's status polls can find them.
    for (const block of model.extend(model.genesisBlock, 10)) await a.chain.importBlock(block);
    await waitFor("B caught up", () => b.chain.head.hashHex === a.chain.head.hashHex, 5_000);
  });

  it("a peer that lies about its chain is penalised and another peer is used", async () => {
    const model = new BlockTreeModel(pos);
    const honestBlocks = model.extend(model.genesisBlock, 80);
    // The liar's "chain": blocks signed by a key that wins no slot, after the real genesis.
    const lies: Block[] = [
      model.genesisBlock,
      ...model.extend(model.genesisBlock, 70, () => [], {
        forgerOverride: KEYS.alice,
        invalid: true,
        minSlot: 5_000,
      }),
    ];
    const a = await net.node(pos, { options: { sync: { cooldownMs: 300 } } });
    const liar = await raw.node({ bootstrap: [a.net.listenAddresses()[0]!] });
    liar.handle(
      "/lotchain/status/1",
      async () =>
        encodeStatus({
          chainId: CHAIN_ID,
          genesisHash: a.chain.genesisHash,
          height: 70,
          headHash: lies[70]!.hashHex,
          score: 1_000n,
          finalizedHeight: 62,
        }),
      { maxRequestBytes: 512, maxResponseBytes: 512, timeoutMs: 2_000 },
    );
    liar.handle(
      `/lotchain/${CHAIN_ID}/blocks-by-range/1`,
      async (req) => {
        const { from, count } = decodeRangeRequest(req, 64);
        return encodeBlockList(lies.slice(from, from + count), 8 * 1024 * 1024);
      },
      { maxRequestBytes: 1024, maxResponseBytes: 8 * 1024 * 1024, timeoutMs: 2_000 },
    );
    // An invalid block served as its chain bans the liar at once (its score then starts over).
    await waitFor(
      "liar penalised",
      () =>
        (scoreOf(a, liar.peerId) ?? 0) < -30 ||
        a.net.banned().some((b) => b.peerId === liar.peerId),
      10_000,
    );
    expect(a.rejected).toContain("WrongForger");
    expect(a.chain.head.height).toBe(0);

    const honest = await net.node(pos, { blocks: honestBlocks, bootstrap: [a] });
    await waitFor(
      "A on the honest chain",
      () => a.chain.head.hashHex === honest.chain.head.hashHex,
      15_000,
    );
    expect(a.chain.head.height).toBe(80);
  });

  it("a peer that claims a better chain and never answers times out, and another peer is used", async () => {
    const model = new BlockTreeModel(pos);
    const a = await net.node(pos, {
      options: { syncTimeoutMs: 400, sync: { cooldownMs: 60_000 } },
    });
    const staller = await raw.node({ bootstrap: [a.net.listenAddresses()[0]!] });
    staller.handle(
      "/lotchain/status/1",
      async () =>
        encodeStatus({
          chainId: CHAIN_ID,
          genesisHash: a.chain.genesisHash,
          height: 500,
          headHash: "ab".repeat(32),
          score: 500n,
          finalizedHeight: 492,
        }),
      { maxRequestBytes: 512, maxResponseBytes: 512, timeoutMs: 2_000 },
    );
    staller.handle(
      `/lotchain/${CHAIN_ID}/blocks-by-range/1`,
      (_req, _from, signal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason)),
        ),
      { maxRequestBytes: 1024, maxResponseBytes: 1024, timeoutMs: 5_000 },
    );
    await waitFor("staller timed out", () => (scoreOf(a, staller.peerId) ?? 0) < 0, 5_000);
    expect(a.net.status().syncing).toBe(false);

    const honest = await net.node(pos, {
      blocks: model.extend(model.genesisBlock, 20),
      bootstrap: [a],
    });
    await waitFor(
      "A on the honest chain",
      () => a.chain.head.hashHex === honest.chain.head.hashHex,
      10_000,
    );
  });

  it("two nodes cut apart by a ban and joined again by unban end on one chain", async () => {
    const model = new BlockTreeModel(pos);
    const a = await net.node(pos);
    const b = await net.node(pos, { bootstrap: [a] });
    await waitFor("handshake", () => knows(a, b) && knows(b, a));

    expect(a.net.ban(b.net.peerId, 60_000)).toBe(true);
    expect(a.net.ban("not-a-peer-id", 1_000)).toBe(false);
    await waitFor("apart", () => a.net.peerCount() === 0 && b.net.peerCount() === 0, 5_000);

    // Each side goes on alone: A's branch is shorter and carries a transaction.
    const lost = tx(KEYS.alice, 0, { to: KEYS.bob, amount: 3n });
    const shortBranch = model.extend(model.genesisBlock, 2, (i) => (i === 0 ? [lost] : []));
    const longBranch = model.extend(model.genesisBlock, 4, () => [], { minSlot: 1_000 });
    for (const block of shortBranch) await a.chain.importBlock(block);
    for (const block of longBranch) await b.chain.importBlock(block);

    expect(a.net.unban(b.net.peerId)).toBe(true);
    await waitFor("one chain", () => a.chain.head.hashHex === b.chain.head.hashHex, 30_000);
    expect(a.chain.head.hashHex).toBe(longBranch[3]!.hashHex);
    expect(a.reorgs.flatMap((r) => r.revertedTransactions.map((t) => t.id))).toEqual([lost.id]);
    expect(a.mempool.has(lost.id)).toBe(true);
  });
});

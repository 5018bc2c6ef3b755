import { afterEach, describe, expect, it } from "vitest";
import { toHex } from "../../src/core/bytes.js";
import { makeTransaction } from "../../src/core/transaction.js";
import { encodeTxBatch } from "../../src/net/wire.js";
import { BlockTreeModel, CHAIN_ID, KEYS, testGenesis, tx } from "../chain/chain-fixtures.js";
import { ChainTestNet, isPeer, knows, logged, scoreOf, withChainId } from "./chain-harness.js";
import { TestNetwork, waitFor } from "./helpers.js";

const genesis = testGenesis("pos");
const BLOCK_TOPIC = `/lotchain/${CHAIN_ID}/block/1`;
const TX_TOPIC = `/lotchain/${CHAIN_ID}/tx/1`;

describe("chain network: gossip and status", () => {
  const net = new ChainTestNet();
  const raw = new TestNetwork();
  afterEach(async () => {
    await raw.cleanup();
    await net.cleanup();
  });

  it("a transaction published on A reaches B's mempool, and a bad one is rejected", async () => {
    const a = await net.node(genesis);
    const b = await net.node(genesis, { bootstrap: [a] });
    await waitFor("gossip mesh", () => b.net.gossipPeers().tx.includes(a.net.peerId));
    await waitFor("handshake", () => knows(a, b) && knows(b, a));

    const transfer = tx(KEYS.alice, 0, { to: KEYS.bob, amount: 5n });
    a.mempool.add(transfer);
    await a.net.publishTransaction(transfer);
    await waitFor("B has the transaction", () => b.mempool.has(transfer.id), 5_000);

    // A transaction with a signature that does not verify costs the relaying peer points.
    const forged = makeTransaction(
      { ...tx(KEYS.bob, 0, { to: KEYS.alice }) },
      new Uint8Array(64).fill(7),
    );
    const evil = await raw.node({ bootstrap: [a.net.listenAddresses()[0]!] });
    await waitFor("evil sees A's topic", () => evil.topicPeers(TX_TOPIC).includes(a.net.peerId));
    // In a batch, as nodes gossip them (a bare transaction is not a batch: Malformed).
    await evil.publish(TX_TOPIC, encodeTxBatch([forged]));
    await waitFor("evil penalised", () => (scoreOf(a, evil.peerId) ?? 0) < 0, 5_000);
    expect(a.mempool.has(forged.id)).toBe(false);
    // A does not relay what it rejects. Had it relayed the forged batch, B would have received
    // it from A before the valid transaction A publishes now (one ordered stream from A to B),
    // rejected it and penalised A.
    const after = tx(KEYS.alice, 1, { to: KEYS.bob, amount: 5n });
    a.mempool.add(after);
    await a.net.publishTransaction(after);
    await waitFor("B has the later transaction", () => b.mempool.has(after.id), 5_000);
    const rejectedFromA = logged(b, "gossiped tx rejected").filter((l) => l.from === a.net.peerId);
    expect(rejectedFromA).toEqual([]);
    expect(scoreOf(b, a.net.peerId)).toBe(0);
    expect(b.mempool.has(forged.id)).toBe(false);
  });

  it("a block gossiped from A is imported by B", async () => {
    const model = new BlockTreeModel(genesis);
    const a = await net.node(genesis);
    const b = await net.node(genesis, { bootstrap: [a] });
    await waitFor("gossip mesh", () => b.net.gossipPeers().block.includes(a.net.peerId));

    const transfer = tx(KEYS.alice, 0, { to: KEYS.bob });
    const block = model.child(model.genesisBlock, [transfer]);
    expect((await a.chain.importBlock(block)).status).toBe("head");
    await a.net.publishBlock(block);
    // the import callback runs a moment after the head moves: wait for both
    await waitFor(
      "B imported it",
      () => b.chain.head.hashHex === block.hashHex && b.imported.length > 0,
      5_000,
    );
    expect(b.imported.map((i) => [i.block.hashHex, i.source])).toEqual([[block.hashHex, "gossip"]]);
    expect(b.chain.totalSupply()).toBe(a.chain.totalSupply());
    // A alone (no peers) publishing is fine too.
    await b.net.stop();
    await a.net.publishBlock(model.child(block, []));
  });

  it("an orphan block makes the node fetch its parents by hash from the relaying peer", async () => {
    const model = new BlockTreeModel(genesis);
    const quiet = { statusIntervalMs: 60_000 }; // no periodic status: only the orphan path
    const a = await net.node(genesis, { options: quiet });
    const b = await net.node(genesis, { bootstrap: [a], options: quiet });
    await waitFor("gossip mesh", () => b.net.gossipPeers().block.includes(a.net.peerId));
    await waitFor("handshake", () => knows(a, b) && knows(b, a));

    const blocks = model.extend(model.genesisBlock, 4);
    for (const block of blocks) await a.chain.importBlock(block);
    const tip = blocks[3]!;
    await a.net.publishBlock(tip);
    await waitFor("B reached the tip", () => b.chain.head.hashHex === tip.hashHex, 5_000);
    expect(b.chain.head.height).toBe(4);
    expect(b.chain.orphanCount).toBe(0);
    // the walk logs once the tip it was fetching for is in (just after B's head moves)
    const fetchedLog = () => logged(b, "fetched the missing parents of a gossiped block");
    await waitFor("the fetch logged", () => fetchedLog().length > 0);
    const fetched = fetchedLog();
    expect(fetched).toHaveLength(1);
    expect(fetched[0]!.fetched).toBe(3);
    expect(logged(b, "syncing from a peer with a better chain")).toHaveLength(0);
  });

  it("an orphan is relayed on once its parents connect it: a branch crosses a line of nodes", async () => {
    const model = new BlockTreeModel(genesis);
    const quiet = { statusIntervalMs: 60_000 }; // no periodic status: only the orphan path
    const a = await net.node(genesis, { options: quiet });
    const b = await net.node(genesis, { bootstrap: [a], options: quiet });
    const c = await net.node(genesis, { bootstrap: [b], options: quiet });
    // A line A - B - C: A and C never meet, so what C learns comes through B.
    a.net.ban(c.net.peerId, 600_000);
    c.net.ban(a.net.peerId, 600_000);
    await waitFor("meshes A-B and B-C", () => {
      const ofB = b.net.gossipPeers().block;
      return (
        ofB.includes(a.net.peerId) &&
        ofB.includes(c.net.peerId) &&
        c.net.gossipPeers().block.includes(b.net.peerId)
      );
    });
    await waitFor("handshakes", () => knows(b, a) && knows(b, c) && knows(c, b));

    // A branch of four blocks that only A stores; A gossips its tip. B lacks its parents: it
    // fetches them from A, and then relays the tip to C, which fetches them from B.
    const blocks = model.extend(model.genesisBlock, 4);
    for (const block of blocks) await a.chain.importBlock(block);
    const tip = blocks[3]!;
    await a.net.publishBlock(tip);
    await waitFor("C reached the tip", () => c.chain.head.hashHex === tip.hashHex, 10_000);
    expect(isPeer(c, a.net)).toBe(false);
    expect(logged(c, "fetched the missing parents of a gossiped block")).toHaveLength(1);
    expect(logged(c, "syncing from a peer with a better chain")).toHaveLength(0);
  });

  it("orphans from one peer start at most a couple of parent fetches from it at a time", async () => {
    const model = new BlockTreeModel(genesis);
    const a = await net.node(genesis, { options: { statusIntervalMs: 60_000 } });
    // Two peers that serve no parent: every fetch hangs until it times out.
    const stalling = async () => {
      const peer = await raw.node({ bootstrap: [a.net.listenAddresses()[0]!] });
      const asked = { count: 0 };
      peer.handle(
        a.net.protocols.blocksByHash,
        (_request, _from, signal) => {
          asked.count++;
          return new Promise((_resolve, reject) => signal.addEventListener("abort", reject));
        },
        { maxRequestBytes: 1_024, maxResponseBytes: 1_024, timeoutMs: 5_000 },
      );
      await waitFor("peer sees A's topic", () =>
        peer.topicPeers(BLOCK_TOPIC).includes(a.net.peerId),
      );
      return { peer, asked };
    };
    const evil = await stalling();
    const other = await stalling();
    // Orphans on nine branches, each missing another parent (cheap to make: any key signs).
    const orphans = Array.from({ length: 9 }, (_, branch) => {
      const [, orphan] = model.extend(model.genesisBlock, 2, () => [], {
        minSlot: 1 + branch * 10,
      });
      return orphan!;
    });
    for (const orphan of orphans.slice(0, 8)) await evil.peer.publish(BLOCK_TOPIC, orphan.encoded);
    await waitFor("orphans held", () => a.chain.orphanCount >= 8, 5_000);
    // A later orphan from another peer: once A asks that peer for its parent, A has long sent
    // whatever requests the first eight orphans started.
    await other.peer.publish(BLOCK_TOPIC, orphans[8]!.encoded);
    await waitFor("A asked the other peer", () => other.asked.count === 1, 5_000);
    expect(evil.asked.count).toBeGreaterThanOrEqual(1);
    expect(evil.asked.count).toBeLessThanOrEqual(2);
  });

  it("a peer on another genesis is told why, disconnected and banned (not redialled)", async () => {
    const a = await net.node(genesis);
    const other = testGenesis("pos", { blockReward: 6 }); // same chain id, another genesis hash
    const c = await net.node(other, { bootstrap: [a] });
    const reason = `genesis mismatch: ours ${a.chain.genesisHash}, yours ${c.chain.genesisHash}`;

    await waitFor(
      "both banned each other",
      () =>
        a.net.banned().some((b) => b.peerId === c.net.peerId) &&
        c.net.banned().some((b) => b.peerId === a.net.peerId),
      5_000,
    );
    // A said why; C heard it (as A's answer, or found it in A's status itself).
    const refusedByA = a.logs.filter((l) => l.msg.includes("another network"));
    expect(refusedByA.map((l) => l.reason)).toContain(reason);
    const cReasons = c.logs.filter((l) => l.msg.includes("another network")).map((l) => l.reason);
    expect(
      cReasons.some(
        (r) =>
          r === `peer refused us: ${reason}` ||
          r === `genesis mismatch: ours ${c.chain.genesisHash}, yours ${a.chain.genesisHash}`,
      ),
    ).toBe(true);
    await waitFor("disconnected", () => !isPeer(a, c.net) && !isPeer(c, a.net), 5_000);
    // C's bootstrap dialer comes back to A (every second at most here) and leaves it alone.
    const skipped = () => logged(c, "bootstrap peer banned; not dialled").length;
    const skippedBefore = skipped();
    const redialsBefore = logged(c, "connected to bootstrap peer").length;
    await waitFor("C's dialer passed A over twice", () => skipped() >= skippedBefore + 2);
    expect(logged(c, "connected to bootstrap peer")).toHaveLength(redialsBefore);
    expect(isPeer(a, c.net) || isPeer(c, a.net)).toBe(false);
    expect(a.net.peerChains()).toHaveLength(0);

    // The admin can lift the ban.
    expect(a.net.unban(c.net.peerId)).toBe(true);
    expect(a.net.unban(c.net.peerId)).toBe(false);
  });

  it("a peer on another chain id is told so and banned", async () => {
    const a = await net.node(genesis);
    const d = await net.node(withChainId(genesis, "another-chain"), { bootstrap: [a] });
    await waitFor("A banned D", () => a.net.banned().some((b) => b.peerId === d.net.peerId), 5_000);
    const reasons = [...a.logs, ...d.logs].map((l) => l.reason);
    expect(reasons).toContain(`chain id mismatch: ours ${CHAIN_ID}, yours another-chain`);
    await waitFor("D banned A", () => d.net.banned().some((b) => b.peerId === a.net.peerId), 5_000);
  });

  it("a peer gossiping invalid blocks is rejected, penalised and at last banned", async () => {
    const model = new BlockTreeModel(genesis);
    const a = await net.node(genesis);
    const b = await net.node(genesis, { bootstrap: [a] });
    const evil = await raw.node({ bootstrap: [a.net.listenAddresses()[0]!] });
    await waitFor("evil sees A's topic", () => evil.topicPeers(BLOCK_TOPIC).includes(a.net.peerId));

    // Signed by a key that did not win the slot.
    const wrongForger = (slot: number) =>
      model.child(model.genesisBlock, [], { forgerOverride: KEYS.alice, minSlot: slot });
    await evil.publish(BLOCK_TOPIC, wrongForger(1).encoded);
    await waitFor("penalised", () => (scoreOf(a, evil.peerId) ?? 0) < 0, 5_000);
    expect(a.rejected).toContain("WrongForger");
    expect(a.chain.head.height).toBe(0);

    // Undecodable bytes, then more invalid blocks: the score sinks to the ban threshold.
    await evil.publish(BLOCK_TOPIC, new Uint8Array([0x83, 1, 2, 3]));
    for (let i = 2; i <= 12; i++) await evil.publish(BLOCK_TOPIC, wrongForger(i).encoded);
    await waitFor("evil banned", () => a.net.banned().some((x) => x.peerId === evil.peerId), 5_000);
    await waitFor("evil disconnected", () => !isPeer(a, evil), 5_000);
    expect(a.rejected).toContain("Malformed");
    // The honest peer is untouched and still gets A's blocks.
    expect(isPeer(a, b.net)).toBe(true);
    expect(scoreOf(a, b.net.peerId)).toBe(0);
    const good = model.child(model.genesisBlock, []);
    await a.chain.importBlock(good);
    await a.net.publishBlock(good);
    await waitFor("B got the good block", () => b.chain.head.hashHex === good.hashHex, 5_000);
    expect(b.rejected).toEqual([]);
  });

  it("a peer sending malformed sync requests is answered with an error and penalised", async () => {
    const a = await net.node(genesis);
    const evil = await raw.node({ bootstrap: [a.net.listenAddresses()[0]!] });
    await waitFor("connected", () => isPeer(a, { peerId: evil.peerId }));
    const opts = { maxResponseBytes: 1_024, timeoutMs: 5_000 };
    const bad = [
      [a.net.protocols.blocksByRange, new Uint8Array([0x82, 0x00, 0x18, 0xff])], // count 255
      [a.net.protocols.blocksByRange, new Uint8Array([0x01])],
      [a.net.protocols.blocksByHash, new Uint8Array([0x80])], // no hashes
    ] as const;
    for (const [protocol, request] of bad)
      await expect(evil.request(a.net.peerId, protocol, request, opts)).rejects.toMatchObject({
        code: "RemoteError",
      });
    await waitFor("evil penalised", () => (scoreOf(a, evil.peerId) ?? 0) < 0, 5_000);
  });

  it("status() reports the node's network view", async () => {
    const a = await net.node(genesis);
    const b = await net.node(genesis, { bootstrap: [a] });
    await waitFor("handshake", () => knows(a, b));
    const status = a.net.status();
    expect(status.peerId).toBe(a.net.peerId);
    expect(status.listenAddresses[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//);
    expect(status.peers.map((p) => p.peerId)).toEqual([b.net.peerId]);
    expect(status.syncing).toBe(false);
    expect(status.syncTargetHeight).toBeNull();
    expect(a.net.peerCount()).toBe(1);
    const seen = a.net.peerChains()[0]!.status;
    expect(seen).toMatchObject({
      chainId: CHAIN_ID,
      genesisHash: b.chain.genesisHash,
      height: 0,
      headHash: toHex(b.chain.head.hash),
      score: b.chain.head.score,
    });
  });
});

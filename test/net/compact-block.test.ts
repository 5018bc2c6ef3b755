import { afterEach, describe, expect, it } from "vitest";
import { makeBlock } from "../../src/core/block.js";
import { encodeCanonical } from "../../src/core/encoding.js";
import {
  completeBlock,
  decodeBlockTxsRequest,
  decodeBlockTxsResponse,
  decodeCompactBlock,
  encodeBlockTxsRequest,
  encodeBlockTxsResponse,
  encodeCompactBlock,
  fillCompactBlock,
} from "../../src/net/compact-block.js";
import { BlockTreeModel, CHAIN_ID, KEYS, testGenesis, tx } from "../chain/chain-fixtures.js";
import { codeOf } from "../helpers/ledger.js";
import { ChainTestNet, knows, scoreOf } from "./chain-harness.js";
import { TestNetwork, waitFor } from "./helpers.js";

const genesis = testGenesis("pos");
const COMPACT_TOPIC = `/lotchain/${CHAIN_ID}/cblock/1`;

describe("compact blocks: wire forms", () => {
  const model = new BlockTreeModel(genesis);
  const txs = [0, 1, 2].map((n) => tx(KEYS.alice, n, { to: KEYS.bob }));
  const block = model.child(model.genesisBlock, txs);

  it("carry the header and the transaction ids, and come back as the same block", () => {
    const bytes = encodeCompactBlock(block);
    expect(bytes.length).toBeLessThan(block.encoded.length);
    const compact = decodeCompactBlock(bytes);
    expect(compact.hashHex).toBe(block.hashHex);
    expect(compact.txIds).toEqual(txs.map((t) => t.id));
    const byId = new Map(txs.map((t) => [t.id, t]));
    const { txs: found, missing } = fillCompactBlock(compact, (id) =>
      id === txs[1]!.id ? undefined : byId.get(id),
    );
    expect(missing).toEqual([1]);
    found[1] = txs[1];
    const whole = completeBlock(compact, found as typeof txs);
    expect(whole.encoded).toEqual(block.encoded);
  });

  it("refuse what is not a compact block", () => {
    expect(codeOf(() => decodeCompactBlock(new Uint8Array([1, 2, 3])))).toBe("Malformed");
    expect(
      codeOf(() => decodeCompactBlock(encodeCanonical(["lotchain/block/1", 1, 2, 3, 4]))),
    ).toBe("Malformed");
    expect(codeOf(() => decodeCompactBlock(new Uint8Array(600_000)))).toBe("TooLarge");
  });

  it("ask for transactions by index and check each answer is the one asked for", () => {
    const request = decodeBlockTxsRequest(encodeBlockTxsRequest(block.hashHex, [0, 2]));
    expect(request).toEqual({ hash: block.hashHex, indexes: [0, 2] });
    expect(codeOf(() => decodeBlockTxsRequest(encodeCanonical([block.hash, [2, 1]])))).toBe(
      "Malformed",
    );
    expect(codeOf(() => decodeBlockTxsRequest(encodeCanonical([block.hash, []])))).toBe(
      "Malformed",
    );
    const ids = [txs[0]!.id, txs[2]!.id];
    const answer = encodeBlockTxsResponse(block, [0, 2]);
    expect(decodeBlockTxsResponse(answer, ids).map((t) => t.id)).toEqual(ids);
    // Another transaction in its place, or a short answer: the peer's fault.
    expect(codeOf(() => decodeBlockTxsResponse(encodeBlockTxsResponse(block, [0, 1]), ids))).toBe(
      "Malformed",
    );
    expect(codeOf(() => decodeBlockTxsResponse(encodeBlockTxsResponse(block, [0]), ids))).toBe(
      "Malformed",
    );
    // The block unknown there (or an index past its end): nothing, and no fault.
    expect(decodeBlockTxsResponse(encodeBlockTxsResponse(undefined, [0]), ids)).toEqual([]);
    expect(decodeBlockTxsResponse(encodeBlockTxsResponse(block, [7]), ids)).toEqual([]);
  });
});

describe("compact blocks on the network", () => {
  const net = new ChainTestNet();
  const raw = new TestNetwork();
  afterEach(async () => {
    await raw.cleanup();
    await net.cleanup();
  });

  it("are filled from the mempool and the missing transactions asked of the relayer", async () => {
    const model = new BlockTreeModel(genesis);
    const a = await net.node(genesis);
    const b = await net.node(genesis, { bootstrap: [a] });
    await waitFor("gossip mesh", () => b.net.gossipPeers().block.includes(a.net.peerId));
    await waitFor("handshake", () => knows(a, b) && knows(b, a));

    const txs = [0, 1, 2, 3].map((n) => tx(KEYS.alice, n, { to: KEYS.bob }));
    // B has the first two pending already; the last two only A has.
    for (const t of txs.slice(0, 2)) b.mempool.add(t);
    const block = model.child(model.genesisBlock, txs);
    expect((await a.chain.importBlock(block)).status).toBe("head");
    await a.net.publishBlock(block);
    await waitFor("B imported it", () => b.chain.head.hashHex === block.hashHex, 5_000);
    expect(b.net.gossipCounts().compact).toEqual({
      blocks: 1,
      txsKnown: 2,
      txsFetched: 2,
      wholeBlocks: 0,
    });
    // What travelled was the compact form.
    const copies = b.net.gossipCounts().topics;
    expect(copies.get("cblock")?.firstCopies).toBe(1);
    expect(copies.get("block")).toBeUndefined();
    expect(b.chain.totalSupply()).toBe(a.chain.totalSupply());
  });

  it("from a relayer that cannot serve their transactions are dropped without import or blame", async () => {
    const model = new BlockTreeModel(genesis);
    const a = await net.node(genesis);
    const evil = await raw.node({ bootstrap: [a.net.listenAddresses()[0]!] });
    await waitFor("evil sees A's topic", () =>
      evil.topicPeers(COMPACT_TOPIC).includes(a.net.peerId),
    );
    const block = model.child(model.genesisBlock, [tx(KEYS.alice, 0, { to: KEYS.bob })]);
    await evil.publish(COMPACT_TOPIC, encodeCompactBlock(block));
    await waitFor(
      "A tried it",
      () => a.logs.some((l) => l.msg === "block-txs request failed"),
      10_000,
    );
    expect(a.chain.head.height).toBe(0);
    expect(scoreOf(a, evil.peerId) ?? 0).toBe(0);
  });

  it("with a forged signature are rejected before anything is asked, and cost the relayer", async () => {
    const model = new BlockTreeModel(genesis);
    const a = await net.node(genesis);
    const evil = await raw.node({ bootstrap: [a.net.listenAddresses()[0]!] });
    await waitFor("evil sees A's topic", () =>
      evil.topicPeers(COMPACT_TOPIC).includes(a.net.peerId),
    );
    const block = model.child(model.genesisBlock, [tx(KEYS.alice, 0, { to: KEYS.bob })]);
    const forged = makeBlock(block.header, new Uint8Array(64).fill(3), block.transactions);
    await evil.publish(COMPACT_TOPIC, encodeCompactBlock(forged));
    await waitFor("penalised", () => (scoreOf(a, evil.peerId) ?? 0) < 0, 5_000);
    expect(a.rejected).toContain("BadBlockSignature");
    expect(a.logs.some((l) => l.msg === "block-txs request failed")).toBe(false);
    expect(a.chain.head.height).toBe(0);
  });
});

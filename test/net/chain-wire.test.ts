import { describe, expect, it } from "vitest";
import { encodeCanonical } from "../../src/core/encoding.js";
import { isValidationError, REJECT_CODES, type RejectCode } from "../../src/core/errors.js";
import {
  blockVerdict,
  chainProtocols,
  evidenceVerdict,
  MAX_TX_BATCH,
  txVerdict,
  WIRE_LIMITS,
} from "../../src/net/protocols.js";
import { PeerBook, statusMismatch } from "../../src/net/status.js";
import {
  type ChainStatus,
  decodeBlockList,
  decodeHashRequest,
  decodeRangeRequest,
  decodeStatus,
  decodeTxBatch,
  encodeBlockList,
  encodeHashRequest,
  encodeRangeRequest,
  encodeStatus,
  encodeTxBatch,
} from "../../src/net/wire.js";
import { BlockTreeModel, KEYS, testGenesis, tx } from "../chain/chain-fixtures.js";

const status: ChainStatus = {
  chainId: "lotchain-test",
  genesisHash: "11".repeat(32),
  height: 42,
  headHash: "22".repeat(32),
  score: 2n ** 200n + 7n,
  finalizedHeight: 34,
};

function malformed(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return isValidationError(e) && e.code === "Malformed";
  }
}

describe("chain wire formats", () => {
  it("round trips a transaction batch within the gossip limit, and refuses bad ones", () => {
    const full = Array.from({ length: MAX_TX_BATCH }, (_, i) =>
      tx(KEYS.alice, i, { to: KEYS.bob }),
    );
    const bytes = encodeTxBatch(full);
    expect(bytes.length).toBeLessThanOrEqual(WIRE_LIMITS.txGossipBytes);
    expect(decodeTxBatch(bytes).map((b) => Buffer.from(b).toString("hex"))).toEqual(
      full.map((t) => Buffer.from(t.encoded).toString("hex")),
    );
    expect(malformed(() => decodeTxBatch(encodeCanonical([])))).toBe(true);
    expect(malformed(() => decodeTxBatch(encodeTxBatch([...full, full[0]!])))).toBe(true);
    expect(malformed(() => decodeTxBatch(encodeCanonical(["not bytes"])))).toBe(true);
    expect(malformed(() => decodeTxBatch(full[0]!.encoded))).toBe(true);
  });

  it("round trips a status, scores beyond 64 bits included, and refuses bad ones", () => {
    expect(decodeStatus(encodeStatus(status))).toEqual(status);
    expect(encodeStatus(status).length).toBeLessThan(WIRE_LIMITS.statusBytes);
    const items = (over: Partial<Record<number, unknown>>) => {
      const base: unknown[] = [
        "lotchain/status/1",
        status.chainId,
        new Uint8Array(32),
        1,
        new Uint8Array(32),
        "1",
        0,
      ];
      for (const [i, v] of Object.entries(over)) base[Number(i)] = v;
      return encodeCanonical(base as never);
    };
    expect(decodeStatus(items({})).height).toBe(1);
    expect(malformed(() => decodeStatus(items({ 0: "other/1" })))).toBe(true);
    expect(malformed(() => decodeStatus(items({ 2: new Uint8Array(31) })))).toBe(true);
    expect(malformed(() => decodeStatus(items({ 3: -1 })))).toBe(true);
    expect(malformed(() => decodeStatus(items({ 5: "01" })))).toBe(true);
    expect(malformed(() => decodeStatus(items({ 5: "-1" })))).toBe(true);
    expect(malformed(() => decodeStatus(items({ 6: 2 })))).toBe(true); // finalized above head
    expect(malformed(() => decodeStatus(new Uint8Array([0xff])))).toBe(true);
  });

  it("round trips range and hash requests within their limits", () => {
    expect(decodeRangeRequest(encodeRangeRequest({ from: 7, count: 64 }), 64)).toEqual({
      from: 7,
      count: 64,
    });
    expect(
      malformed(() => decodeRangeRequest(encodeRangeRequest({ from: 7, count: 65 }), 64)),
    ).toBe(true);
    expect(malformed(() => decodeRangeRequest(encodeRangeRequest({ from: 7, count: 0 }), 64))).toBe(
      true,
    );
    const hashes = ["aa".repeat(32), "bb".repeat(32)];
    expect(decodeHashRequest(encodeHashRequest(hashes), 16)).toEqual(hashes);
    expect(malformed(() => decodeHashRequest(encodeCanonical([]), 16))).toBe(true);
    expect(malformed(() => decodeHashRequest(encodeCanonical([new Uint8Array(3)]), 16))).toBe(true);
    expect(
      malformed(() =>
        decodeHashRequest(encodeHashRequest(Array.from({ length: 17 }, () => hashes[0]!)), 16),
      ),
    ).toBe(true);
  });

  it("block lists keep whole blocks under the byte cap, at least one", () => {
    const model = new BlockTreeModel(testGenesis("pos"));
    const blocks = model.extend(model.genesisBlock, 10);
    expect(decodeBlockList(encodeBlockList(blocks, 1 << 20), 10).map((b) => b.hashHex)).toEqual(
      blocks.map((b) => b.hashHex),
    );
    const size = blocks[0]!.encoded.length;
    const capped = encodeBlockList(blocks, 3 * (size + 5) + 9);
    expect(capped.length).toBeLessThanOrEqual(3 * (size + 5) + 9);
    expect(decodeBlockList(capped, 10)).toHaveLength(3);
    expect(decodeBlockList(encodeBlockList(blocks, 10), 10)).toHaveLength(1);
    expect(malformed(() => decodeBlockList(encodeBlockList(blocks, 1 << 20), 9))).toBe(true);
    expect(malformed(() => decodeBlockList(encodeCanonical(["x"]), 9))).toBe(true);
    // a block's bytes tampered: the canonical decoder refuses it
    const bad = Uint8Array.from(blocks[0]!.encoded);
    bad[1] = 0x99;
    expect(() => decodeBlockList(encodeCanonical([bad]), 1)).toThrow();
  });

  it("names protocols per chain, but the status protocol for every chain", () => {
    const ids = chainProtocols("devnet");
    expect(ids).toEqual({
      prefix: "/lotchain/devnet",
      txTopic: "/lotchain/devnet/tx/1",
      blockTopic: "/lotchain/devnet/block/1",
      compactBlockTopic: "/lotchain/devnet/cblock/1",
      evidenceTopic: "/lotchain/devnet/evidence/1",
      status: "/lotchain/status/1",
      blocksByRange: "/lotchain/devnet/blocks-by-range/1",
      blocksByHash: "/lotchain/devnet/blocks-by-hash/1",
      neighbours: "/lotchain/devnet/neighbours/1",
      blockTxs: "/lotchain/devnet/block-txs/1",
    });
  });

  it("maps rejection codes to gossip verdicts", () => {
    const codes = Object.keys(REJECT_CODES) as RejectCode[];
    const rejectedTx = codes.filter((c) => txVerdict(c) === "reject").sort();
    expect(rejectedTx).toEqual(
      [
        "BadAmount",
        "FeeTooLow",
        "IdMismatch",
        "InvalidSignature",
        "Malformed",
        "MalformedAddress",
        "MalformedAmount",
        "MalformedKey",
        "NotExchangeAuthority",
        "ReceiverMustBeSender",
        "TooLarge",
        "WrongChain",
      ].sort(),
    );
    for (const c of ["Duplicate", "AlreadyIncluded", "NonceTooLow", "NonceGap", "MempoolFull"])
      expect(txVerdict(c as RejectCode)).toBe("ignore");
    const ignoredBlocks = codes.filter((c) => blockVerdict(c) === "ignore").sort();
    expect(ignoredBlocks).toEqual(["BelowFinality", "FutureBlock", "UnknownParent"]);
    // Evidence: only what no node would take condemns the relayer.
    const rejectedEvidence = codes.filter((c) => evidenceVerdict(c) === "reject").sort();
    expect(rejectedEvidence).toEqual(["InvalidEvidence", "Malformed", "TooLarge", "WrongChain"]);
    for (const c of ["AlreadySlashed", "EvidenceTooOld", "NothingToSlash", "DuplicateEvidence"])
      expect(evidenceVerdict(c as RejectCode)).toBe("ignore");
  });

  it("tells a peer of another network why", () => {
    expect(statusMismatch(status, { ...status, height: 3 })).toBeUndefined();
    const genesis = statusMismatch(status, { ...status, genesisHash: "33".repeat(32) });
    expect(genesis).toBe(`genesis mismatch: ours ${"11".repeat(32)}, yours ${"33".repeat(32)}`);
    const chain = statusMismatch(status, { ...status, chainId: "other" });
    expect(chain).toBe("chain id mismatch: ours lotchain-test, yours other");
  });

  it("the peer book picks the best chain better than ours", () => {
    const book = new PeerBook();
    const ours = { score: 10n, hashHex: "55".repeat(32) };
    book.set("low", { ...status, score: 9n });
    book.set("tie-higher-hash", { ...status, score: 10n, headHash: "66".repeat(32) });
    expect(book.best(ours, () => true)).toBeUndefined();
    book.set("tie-lower-hash", { ...status, score: 10n, headHash: "44".repeat(32) });
    expect(book.best(ours, () => true)?.peerId).toBe("tie-lower-hash");
    book.set("high", { ...status, score: 12n });
    book.set("higher", { ...status, score: 13n });
    expect(book.best(ours, () => true)?.peerId).toBe("higher");
    expect(book.best(ours, (id) => id !== "higher")?.peerId).toBe("high");
    book.noteHead("high", { height: 99, hashHex: "77".repeat(32), score: 20n });
    expect(book.best(ours, () => true)?.peerId).toBe("high");
    book.noteHead("high", { height: 1, hashHex: "88".repeat(32), score: 1n }); // never lowers
    expect(book.get("high")?.status.score).toBe(20n);
  });
});

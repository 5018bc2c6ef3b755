import { describe, expect, it } from "vitest";
import { encodeCanonical } from "../../src/core/encoding.js";
import { cborArrayLength, GossipStats } from "../../src/net/gossip-stats.js";

describe("gossip copy counts", () => {
  it("read a batch's length from its CBOR array head", () => {
    for (const n of [0, 1, 23, 24, 255, 256, 300])
      expect(cborArrayLength(encodeCanonical(Array.from({ length: n }, () => 1)))).toBe(n);
    expect(cborArrayLength(new Uint8Array([0x58, 3, 1, 2, 3]))).toBe(1);
    expect(cborArrayLength(new Uint8Array(0))).toBe(1);
  });

  it("count every copy received against the first ones, leaving our own publishes out", () => {
    const stats = new GossipStats((topic, data) => (topic === "t" ? cborArrayLength(data) : 1));
    const batch = encodeCanonical([1, 2, 3]);
    // Our publish: gossipsub computes its id too.
    stats.onPublish("t", batch);
    stats.onMessageId("t", batch);
    // Received twice from two peers, validated once.
    stats.onMessageId("t", batch);
    stats.onFirstCopy("t", batch);
    stats.onMessageId("t", batch);
    stats.onMessageId("b", new Uint8Array(10));
    stats.onFirstCopy("b", new Uint8Array(10));
    expect(stats.snapshot()).toEqual(
      new Map([
        ["t", { messages: 2, firstCopies: 1, items: 6, firstItems: 3, bytes: 2 * batch.length }],
        ["b", { messages: 1, firstCopies: 1, items: 1, firstItems: 1, bytes: 10 }],
      ]),
    );
  });
});

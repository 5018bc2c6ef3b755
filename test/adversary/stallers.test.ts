import { afterEach, describe, expect, it } from "vitest";
import { encodeStatus } from "../../src/net/wire.js";
import { BlockTreeModel, CHAIN_ID, testGenesis } from "../chain/chain-fixtures.js";
import { ChainTestNet, isPeer, scoreOf } from "../net/chain-harness.js";
import { sleep, TestNetwork, waitFor } from "../net/helpers.js";

/**
 * Stallers against a node that is behind: real lotchain network nodes in this process (chain on
 * LevelDB, libp2p on 127.0.0.1) and two raw libp2p peers that claim a far better chain and never
 * answer a range request. The node's sync timeout is scaled down (500 ms for 15 s) so that the
 * test takes seconds; the choices are the node's own.
 */
const pos = testGenesis("pos");

describe("stallers", () => {
  const net = new ChainTestNet();
  const raw = new TestNetwork();
  afterEach(async () => {
    await raw.cleanup();
    await net.cleanup();
  });

  it("do not hold the sync of a node behind: it syncs from the honest peer, and stops asking them", async () => {
    const model = new BlockTreeModel(pos);
    const node = await net.node(pos, {
      options: {
        syncTimeoutMs: 500,
        statusIntervalMs: 200,
        sync: { cooldownMs: 200, maxCooldownMs: 400 },
      },
    });
    const asked = new Map<string, number>();
    const stallers = await Promise.all(
      [1, 2].map(async (i) => {
        const s = await raw.node({ bootstrap: [node.net.listenAddresses()[0]!] });
        s.handle(
          "/lotchain/status/1",
          async () =>
            encodeStatus({
              chainId: CHAIN_ID,
              genesisHash: node.chain.genesisHash,
              height: 1_000_000,
              headHash: `e${i}`.repeat(32),
              score: 10n ** 40n,
              finalizedHeight: 0,
            }),
          { maxRequestBytes: 512, maxResponseBytes: 512, timeoutMs: 2_000 },
        );
        s.handle(
          `/lotchain/${CHAIN_ID}/blocks-by-range/1`,
          (_req, _from, signal) => {
            asked.set(s.peerId, (asked.get(s.peerId) ?? 0) + 1);
            return new Promise((_resolve, reject) =>
              signal.addEventListener("abort", () => reject(signal.reason)),
            );
          },
          { maxRequestBytes: 1024, maxResponseBytes: 1024, timeoutMs: 60_000 },
        );
        return s;
      }),
    );
    await waitFor("both stallers asked", () => asked.size === 2);

    // The honest peer comes: the node syncs from it although the stallers claim far more.
    const honest = await net.node(pos, {
      blocks: model.extend(model.genesisBlock, 80),
      bootstrap: [node],
    });
    await waitFor(
      "the node at the honest head",
      () => node.chain.head.hashHex === honest.chain.head.hashHex,
      20_000,
    );

    // Their claims still beat ours, and their cooldowns (at most 400 ms) keep running out; after
    // three failures in a row each, they are not asked again.
    await waitFor("three failures each", () =>
      stallers.every((s) => (asked.get(s.peerId) ?? 0) >= 3),
    );
    const counts = stallers.map((s) => asked.get(s.peerId));
    await sleep(2_000);
    expect(stallers.map((s) => asked.get(s.peerId))).toEqual(counts);
    expect(counts).toEqual([3, 3]);
    // Not banned (an honest slow peer looks the same): connected, and a few points down.
    for (const s of stallers) {
      expect(isPeer(node, s)).toBe(true);
      expect(scoreOf(node, s.peerId)).toBeLessThan(0);
    }
    expect(scoreOf(node, honest.net.peerId) ?? 0).toBeGreaterThanOrEqual(0);
    expect(node.net.status().syncing).toBe(false);
  }, 60_000);
});

import { afterEach, describe, expect, it } from "vitest";
import { peersToDrop, type SlotPeer } from "../../src/net/peer-slots.js";
import { BlockTreeModel, testGenesis } from "../chain/chain-fixtures.js";
import { ChainTestNet, type ChainTestNode, isPeer } from "../net/chain-harness.js";
import { sleep, TestNetwork, waitFor } from "../net/helpers.js";

/**
 * Many peer ids beyond the connection cap: a real lotchain network node in this process (chain
 * on LevelDB, libp2p on 127.0.0.1) with room for 8 peers, and 16 attacker ids (real libp2p
 * nodes) that connect and, when dropped, connect again at once (their bootstrap redial, 200 ms
 * to 1 s). Honest peers keep their place when they proved useful, and newcomers get in.
 */
const pos = testGenesis("pos");
const MAX_PEERS = 8;

describe("peer ids beyond the connection cap", () => {
  const net = new ChainTestNet();
  const raw = new TestNetwork();
  afterEach(async () => {
    await raw.cleanup();
    await net.cleanup();
  });

  it("an honest peer that proved useful keeps its connection; an honest newcomer gets in, syncs, and stays once useful", async () => {
    const model = new BlockTreeModel(pos);
    const blocks = model.extend(model.genesisBlock, 12);
    const victim = await net.node(pos, {
      blocks: blocks.slice(0, 10),
      options: { p2p: { maxConnections: MAX_PEERS } },
    });
    /** Makes `node` useful to the victim: a block it relays becomes the victim's head. */
    const relayNewHead = async (node: ChainTestNode, i: number) => {
      await node.chain.importBlock(blocks[i]!);
      await node.net.publishBlock(blocks[i]!);
      await waitFor(
        "the relayed block is the head",
        () => victim.chain.head.hashHex === blocks[i]!.hashHex,
      );
    };

    // (The honest peers here keep one link, to the victim: what they relay comes from them.)
    const alone = { p2p: { maxConnections: 1 } };
    const friend = await net.node(pos, {
      blocks: blocks.slice(0, 10),
      bootstrap: [victim],
      options: alone,
    });
    await waitFor("the friend connected", () => isPeer(victim, friend.net));
    await relayNewHead(friend, 10);

    // The crowd: 16 ids for 7 free slots, redialling whenever dropped (refused for a while
    // once dropped for room).
    const crowd = await Promise.all(
      Array.from({ length: 16 }, () => raw.node({ bootstrap: [victim.net.listenAddresses()[0]!] })),
    );
    const inCrowd = new Set(crowd.map((c) => c.peerId));
    const crowdIn = () => victim.net.status().peers.filter((p) => inCrowd.has(p.peerId)).length;
    await waitFor("the crowd holds every free slot", () => crowdIn() >= MAX_PEERS - 1, 15_000);

    // A newcomer gets in despite the crowd (it takes an idle id's place), and syncs.
    const newcomer = await net.node(pos, { bootstrap: [victim], options: alone });
    await waitFor(
      "the newcomer synced",
      () => newcomer.chain.head.hashHex === victim.chain.head.hashHex,
      20_000,
    );
    // Once useful, it stays, as the friend does, while the crowd keeps coming back.
    await waitFor("the newcomer connected", () => isPeer(victim, newcomer.net), 20_000);
    await relayNewHead(newcomer, 11);
    for (let i = 0; i < 15; i++) {
      await sleep(200);
      expect(isPeer(victim, friend.net), "the friend kept").toBe(true);
      expect(isPeer(victim, newcomer.net), "the newcomer kept").toBe(true);
      expect(victim.net.status().peers.length).toBeLessThanOrEqual(MAX_PEERS + 1 + 8);
    }
    expect(crowdIn()).toBeGreaterThan(0);
  }, 90_000);
});

describe("peersToDrop", () => {
  const peer = (peerId: string, o: Partial<SlotPeer> = {}): SlotPeer => ({
    peerId,
    outbound: false,
    useful: false,
    score: 0,
    ...o,
  });

  it("drops nobody with room, never outbound or useful peers, the lowest score first", () => {
    const peers = [
      peer("out", { outbound: true }),
      peer("useful", { useful: true }),
      peer("bad", { score: -50 }),
      peer("a"),
      peer("b"),
    ];
    expect(peersToDrop(peers, 5)).toEqual([]);
    expect(peersToDrop(peers, 4)).toEqual(["bad"]);
    expect(peersToDrop(peers, 3, undefined, () => 0)).toEqual(["bad", "a"]);
    expect(peersToDrop(peers, 3, undefined, () => 0.99)).toEqual(["bad", "b"]);
    // The newcomer goes last: only when everyone else is protected.
    expect(peersToDrop(peers, 3, "a", () => 0)).toEqual(["bad", "b"]);
    expect(peersToDrop(peers, 1, "a")).toEqual(["bad", "b", "a"]);
    expect(peersToDrop([...peers, peer("c", { outbound: true })], 1, "c")).toEqual([
      "bad",
      expect.any(String),
      expect.any(String),
    ]);
  });
});

import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Chain } from "../../src/chain/chain.js";
import type { Block } from "../../src/core/block.js";
import { BoundedMap } from "../../src/net/bounded-map.js";
import { NetError } from "../../src/net/errors.js";
import { RespStatus } from "../../src/net/req-resp.js";
import { PeerBook } from "../../src/net/status.js";
import { Syncer, type SyncTuning } from "../../src/net/sync.js";
import { ServeBudget } from "../../src/net/sync-server.js";
import type { ChainStatus } from "../../src/net/wire.js";
import { BlockTreeModel, openChain, tempDir, testGenesis } from "../chain/chain-fixtures.js";
import { waitFor } from "./helpers.js";

/**
 * The syncer's choices, on a real chain (LevelDB in a temp dir) with scripted peers behind its
 * narrow fetch interface and an injected clock: whom it asks, when it gives up on a peer, how
 * long it passes a peer over, and when it tells the producer to pause.
 */
const genesis = testGenesis("pos");
const model = new BlockTreeModel(genesis);
const honestChain = model.extend(model.genesisBlock, 20);

type Script = (from: number, count: number) => Promise<Block[]>;

function statusOf(height: number, score: bigint, headHash: string): ChainStatus {
  return {
    chainId: genesis.chainId,
    genesisHash: model.genesisBlock.hashHex,
    height,
    headHash,
    score,
    finalizedHeight: 0,
  };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  scripts: Record<string, { status: ChainStatus; range: Script }>,
  more: Partial<SyncTuning> = {},
) {
  const tmp = await tempDir("lotchain-syncer-");
  const chain: Chain = await openChain(tmp.dir, genesis);
  cleanups.push(tmp.remove, () => chain.close());
  let clock = 1_000_000;
  const peers = new PeerBook(() => clock);
  for (const [id, s] of Object.entries(scripts)) peers.set(id, s.status);
  const penalties: { peerId: string; points: number; reason: string }[] = [];
  const asked: string[] = [];
  const behindSeen: boolean[] = [];
  const tuning: Partial<SyncTuning> = { cooldownMs: 1_000, maxCooldownMs: 8_000, ...more };
  const syncer = new Syncer(
    {
      chain,
      peers,
      log: pino({ level: "silent" }),
      fetchRange: async (peerId, from, count) => {
        asked.push(peerId);
        behindSeen.push(syncer.behind);
        return scripts[peerId]!.range(from, count);
      },
      fetchByHash: async () => [],
      refreshStatus: async (peerId) => peers.set(peerId, scripts[peerId]!.status),
      penalize: (peerId, points, reason) => penalties.push({ peerId, points, reason }),
      onImported: () => undefined,
      onRejected: () => undefined,
      now: () => clock,
    },
    tuning,
  );
  cleanups.push(() => syncer.stop());
  return {
    chain,
    syncer,
    peers,
    penalties,
    asked,
    behindSeen,
    advance: (ms: number) => {
      clock += ms;
    },
    idle: () => waitFor("sync idle", () => syncer.progress().targetHeight === null, 10_000),
  };
}

const honestRange: Script = async (from, count) =>
  [model.genesisBlock, ...honestChain].filter(
    (b) => b.header.height >= from && b.header.height < from + count,
  );
const last = honestChain.at(-1)!;
/** The honest chain's real score (what an honest peer claims). */
let honestScore = 0n;
beforeAll(async () => {
  const tmp = await tempDir("lotchain-syncer-ref-");
  const chain = await openChain(tmp.dir, genesis);
  for (const block of honestChain) await chain.importBlock(block);
  honestScore = chain.head.score;
  await chain.close();
  await tmp.remove();
});
const honestStatus = () => statusOf(last.header.height, honestScore, last.hashHex);

describe("the syncer's choices", () => {
  it("asks the best claim first, passes over a liar whose claim does not materialise, syncs from the honest peer", async () => {
    const t = await setup({
      liar: { status: statusOf(10_000, 10n ** 30n, "ee".repeat(32)), range: async () => [] },
      honest: { status: honestStatus(), range: honestRange },
    });
    t.syncer.kick();
    await waitFor(
      "synced from the honest peer",
      () => t.chain.head.hashHex === last.hashHex,
      10_000,
    );
    await t.idle();
    expect(t.asked[0]).toBe("liar");
    expect(t.asked).toContain("honest");
    expect(t.penalties.map((p) => p.peerId)).toEqual(["liar"]);
    expect(t.syncer.cooldownOf("liar")).toBe(1_000);
    expect(t.syncer.cooldownOf("honest")).toBe(0);
    // A claim never paused the producer: only the honest peer's verified blocks did.
    expect(t.behindSeen[0]).toBe(false);
  });

  it("a staller is passed over for a cooldown that doubles (up to the max), and never pauses the producer", async () => {
    const t = await setup(
      {
        staller: {
          status: statusOf(10_000, 10n ** 30n, "ee".repeat(32)),
          range: async () => {
            throw new NetError("Timeout", "stalled");
          },
        },
        // (not given up on here: see maxStrikes below)
      },
      { maxStrikes: 100 },
    );
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      t.syncer.kick();
      await t.idle();
      seen.push(t.syncer.cooldownOf("staller"));
      expect(t.syncer.behind).toBe(false);
      t.advance(seen.at(-1)!);
    }
    expect(seen).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(t.behindSeen.every((b) => !b)).toBe(true);
    expect(t.penalties.every((p) => p.points === 5)).toBe(true);
    expect(t.chain.head.height).toBe(0);
  });

  it("stallers are given up after maxStrikes attempts, and never hold the sync of a node behind", async () => {
    const stall: Script = async () => {
      throw new NetError("Timeout", "stalled");
    };
    const t = await setup({
      staller1: { status: statusOf(10_000, 10n ** 30n, "e1".repeat(32)), range: stall },
      staller2: { status: statusOf(10_000, 10n ** 29n, "e2".repeat(32)), range: stall },
      honest: { status: honestStatus(), range: honestRange },
    });
    t.syncer.kick();
    await waitFor("synced from the honest peer", () => t.chain.head.hashHex === last.hashHex);
    await t.idle();
    expect(t.asked.slice(0, 2)).toEqual(["staller1", "staller2"]);
    // The stallers keep claiming better chains; every time their cooldown is over they are
    // asked again, until their third failure in a row: then never again.
    for (let i = 0; i < 8; i++) {
      t.advance(8_000);
      t.syncer.kick();
      await t.idle();
    }
    const times = (id: string) => t.asked.filter((a) => a === id).length;
    expect(times("staller1")).toBe(3);
    expect(times("staller2")).toBe(3);
    expect(t.syncer.gaveUpOn("staller1")).toBe(true);
    expect(t.syncer.gaveUpOn("honest")).toBe(false);
    // A block it relays that becomes our head forgives a peer.
    t.syncer.credit("staller1");
    t.advance(8_000);
    t.syncer.kick();
    await t.idle();
    expect(times("staller1")).toBe(4);
  });

  it("a peer that delivered before is asked before an unproven peer with a better claim", async () => {
    let honestHeight = 10;
    const t = await setup({
      // it claims nothing at first (our genesis), then far more than the honest peer
      staller: {
        status: statusOf(0, 0n, model.genesisBlock.hashHex),
        range: async () => {
          throw new NetError("Timeout", "stalled");
        },
      },
      honest: {
        status: statusOf(10, 0n, honestChain[9]!.hashHex),
        range: async (from, count) =>
          (await honestRange(from, count)).filter((b) => b.header.height <= honestHeight),
      },
    });
    // First sync: 10 blocks from the honest peer.
    const reference = await tempDir("lotchain-syncer-ref10-");
    const ref = await openChain(reference.dir, genesis);
    for (const block of honestChain.slice(0, 10)) await ref.importBlock(block);
    t.peers.set("honest", statusOf(10, ref.head.score, honestChain[9]!.hashHex));
    await ref.close();
    await reference.remove();
    t.syncer.kick();
    await waitFor("ten blocks in", () => t.chain.head.height === 10);
    await t.idle();
    // Then a staller claims far more, and the honest peer ten more blocks.
    honestHeight = 20;
    t.peers.set("staller", statusOf(10_000, 10n ** 30n, "ee".repeat(32)));
    t.peers.set("honest", honestStatus());
    t.asked.length = 0;
    t.syncer.kick();
    await waitFor("synced again", () => t.chain.head.hashHex === last.hashHex);
    await t.idle();
    expect(t.asked[0]).toBe("honest");
  });

  it("a peer whose connection closed under a request is asked again soon, not after a cooldown", async () => {
    let calls = 0;
    const t = await setup(
      {
        flaky: {
          status: honestStatus(),
          range: async (from, count) => {
            if (calls++ === 0) throw new NetError("Unreachable", "connection closed");
            return honestRange(from, count);
          },
        },
      },
      { cooldownMs: 10_000 },
    );
    t.syncer.kick();
    await t.idle();
    expect(t.syncer.cooldownOf("flaky")).toBe(1_000);
    expect(t.penalties).toEqual([]);
    t.advance(1_000);
    t.syncer.kick();
    await waitFor("synced", () => t.chain.head.hashHex === last.hashHex);
  });

  it("a BUSY answer costs the peer nothing: it is asked again after a cooldown", async () => {
    const t = await setup({
      busy: {
        status: statusOf(20, 10n ** 30n, last.hashHex),
        range: async () => {
          throw new NetError("RemoteError", "busy", { status: RespStatus.BUSY });
        },
      },
    });
    t.syncer.kick();
    await t.idle();
    expect(t.penalties).toEqual([]);
    expect(t.syncer.cooldownOf("busy")).toBe(1_000);
  });

  it("a peer whose equal head our fork choice keeps out is not blamed, nor asked again", async () => {
    // Two branches of equal length on a common prefix: ours has the earlier slot, the peer's tip
    // the lower hash (all its status can show). The chain keeps ours; the peer told no lie.
    const common = honestChain.slice(0, 10);
    const fork = common.at(-1)!;
    const [ours] = model.extend(fork, 1);
    const oursSlot = ours!.header.seal.type === "pos" ? ours!.header.seal.slot : 0;
    let theirs: Block | undefined;
    for (let k = 1; theirs === undefined || theirs.hashHex > ours!.hashHex; k++)
      [theirs] = model.extend(fork, 1, () => [], { minSlot: oursSlot + k });
    const peerChain = [model.genesisBlock, ...common, theirs];
    const t = await setup({
      peer: {
        status: statusOf(11, 0n, theirs.hashHex),
        range: async (from, count) =>
          peerChain.filter((b) => b.header.height >= from && b.header.height < from + count),
      },
    });
    for (const b of [...common, ours!]) await t.chain.importBlock(b);
    t.peers.set("peer", statusOf(11, t.chain.head.score, theirs.hashHex));
    t.syncer.kick();
    await waitFor("its head fetched", () => t.chain.getHeader(theirs.hashHex) !== undefined);
    await t.idle();
    expect(t.chain.head.hashHex).toBe(ours!.hashHex);
    expect(t.penalties).toEqual([]);
    expect(t.syncer.cooldownOf("peer")).toBe(0);
    const asked = t.asked.length;
    t.syncer.kick();
    await t.idle();
    expect(t.asked).toHaveLength(asked);
  });

  it("the producer pauses while verified blocks move the head, and not after", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const t = await setup(
      {
        honest: {
          status: honestStatus(),
          range: async (from, count) => {
            if (from > 5) await gate;
            return honestRange(from, count);
          },
        },
      },
      { batchBlocks: 4 },
    );
    t.syncer.kick();
    // (the head moves inside an import, a moment before the import resolves to the syncer)
    await waitFor("some blocks in, seen by the syncer", () => t.syncer.behind, 10_000);
    expect(t.chain.head.height).toBeGreaterThan(0);
    // Verified progress that stops for longer than the grace no longer pauses the producer.
    t.advance(10_001);
    expect(t.syncer.behind).toBe(false);
    release();
    await t.idle();
    expect(t.syncer.behind).toBe(false);
  });
});

describe("bounded maps and serving budgets", () => {
  it("a BoundedMap drops its oldest entry past the bound", () => {
    const m = new BoundedMap<string, number>(3);
    for (const k of ["a", "b", "c", "a", "d"]) m.set(k, 1);
    expect([...m.keys()]).toEqual(["c", "a", "d"]);
  });

  it("ServeBudget: a flood past the per-peer rate is BUSY and pays; spent bytes are BUSY without blame", async () => {
    let clock = 0;
    const budget = new ServeBudget(
      {
        perPeerRequestBurst: 3,
        perPeerRequestsPerSecond: 1,
        perPeerByteBurst: 100,
        perPeerBytesPerSecond: 10,
      },
      () => clock,
    );
    const paid: number[] = [];
    const pay = (points: number) => paid.push(points);
    const serve = (bytes: number) => async () => new Uint8Array(bytes);
    await budget.run("p", serve(150), pay); // spends more than the byte budget
    await expect(budget.run("p", serve(1), pay)).rejects.toMatchObject({
      status: RespStatus.BUSY,
    });
    expect(paid).toEqual([]);
    clock += 10_000; // bytes back (100), requests back (3)
    await budget.run("p", serve(1), pay);
    await budget.run("p", serve(1), pay);
    await budget.run("p", serve(1), pay);
    await expect(budget.run("p", serve(1), pay)).rejects.toMatchObject({
      status: RespStatus.BUSY,
    });
    expect(paid).toEqual([5]);
    // Another peer is served meanwhile.
    expect((await budget.run("q", serve(1), pay)).length).toBe(1);
  });
});

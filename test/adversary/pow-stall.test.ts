import { describe, expect, it } from "vitest";
import {
  block,
  eventually,
  fullyConnected,
  genesisJson,
  heightsReach,
  sleep,
  status,
  useClusters,
} from "../helpers/cluster.js";
import { testKey } from "../helpers/ledger.js";
import {
  ByzantinePeer,
  expectUnharmed,
  getPeerViews,
  liarStatus,
  snapshotOf,
} from "./byzantine-peer.js";

const CHAIN = "lotchain-adversary-pow";
const miners = [testKey(211), testKey(212)];

/**
 * Under PoW the seed's nodes, told of a huge score by two peer ids taking turns and stalling
 * every range request until its timeout, stopped mining (the producer paused while "syncing")
 * and never synced from honest peers. Now a claim alone pauses nothing: the miners go on, and
 * each staller pays for every stall and is passed over for longer each time.
 */
describe("two stalling liars against PoW miners", () => {
  const cluster = useClusters();

  it("the miners go on mining and stay peers; the liars pay", async () => {
    const c = cluster(
      genesisJson({
        chainId: CHAIN,
        consensus: { type: "pow", targetBlockMs: 250, initialTarget: `003${"f".repeat(61)}` },
        blockReward: 50,
      }),
    );
    const m1 = await c.start("miner1", { key: miners[0] });
    const m2 = await c.start("miner2", { key: miners[1], bootstrap: [m1] });
    const honest = [m1, m2];
    await fullyConnected(honest, 20_000);
    await heightsReach(honest, 3, 30_000);
    const genesisHash = (await block(m1, 0)).hash;
    // Balances change with every mined block here: the miners' accounts are not watched.
    const before = await snapshotOf(honest, []);

    const stall = (_req: Uint8Array, _from: string, signal: AbortSignal) =>
      new Promise<Uint8Array>((_resolve, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason)),
      );
    const liars = [
      await ByzantinePeer.start(c, "s1", CHAIN, {
        status: async () => liarStatus(CHAIN, genesisHash),
        blocksByRange: stall,
      }),
      await ByzantinePeer.start(c, "s2", CHAIN, {
        status: async () => liarStatus(CHAIN, genesisHash, { headHash: "dd".repeat(32) }),
        blocksByRange: stall,
      }),
    ];
    for (const liar of liars) await liar.dial(honest);
    // Honest miners sync from each other for a moment now and then; a claim alone used to keep
    // them "syncing" (not mining) for as long as the liars liked.
    let longest = 0;
    const since = new Map<string, number>();
    await eventually(
      "every miner charged both liars for a stall",
      async () => {
        for (const n of honest) {
          const syncing = (await status(n)).syncing;
          const start = since.get(n.name);
          if (syncing && start === undefined) since.set(n.name, Date.now());
          if (syncing && start !== undefined) longest = Math.max(longest, Date.now() - start);
          if (!syncing) since.delete(n.name);
        }
        for (const n of honest) {
          const views = await getPeerViews(n);
          for (const liar of liars)
            if ((views.find((p) => p.peerId === liar.peerId)?.score ?? 0) >= 0) return false;
        }
        return true;
      },
      40_000,
      250,
    );
    expect(longest, "the longest a miner reported syncing (ms)").toBeLessThan(3_000);
    await Promise.all(liars.map((l) => l.stop()));
    await sleep(100);
    await expectUnharmed(honest, before, [], { minBlocks: 5 });
  }, 120_000);
});

import { describe, expect, it } from "vitest";
import {
  blocks,
  eventually,
  fullyConnected,
  genesisJson,
  heightsReach,
  sameHead,
  status,
  submit,
  transaction,
  useClusters,
} from "../helpers/cluster.js";
import { makeTx, testKey } from "../helpers/ledger.js";

const CHAIN = "lotchain-net-pow";
const miners = [testKey(161), testKey(162)];
const user = testKey(163);
const receiver = testKey(164);
const hex = (k: { publicKey: Uint8Array }) => Buffer.from(k.publicKey).toString("hex");
/** Blocks counted once both miners are connected. */
const WINDOW = 20;

describe("two PoW miners", () => {
  const cluster = useClusters();

  it("converge on one chain that both of them mined", async () => {
    const c = cluster(
      genesisJson({
        chainId: CHAIN,
        // an easy start (about 1 in 1024 hashes wins); the retarget aims at 250 ms blocks
        consensus: { type: "pow", targetBlockMs: 250, initialTarget: `003${"f".repeat(61)}` },
        alloc: [[user, 1_000]],
        blockReward: 50,
        minFee: 1,
      }),
    );
    const m1 = await c.start("miner1", { key: miners[0] });
    const m2 = await c.start("miner2", { key: miners[1], bootstrap: [m1] });
    await fullyConnected([m1, m2], 20_000);
    // miner1 ran alone for a moment (on the easy genesis target, a burst of blocks): count from here.
    const joined = Math.max((await status(m1)).height, (await status(m2)).height);

    // A transaction sent to one miner is mined into the common chain.
    const tx = makeTx(user, {
      chainId: CHAIN,
      to: receiver.address,
      amount: 10n,
      fee: 1n,
      nonce: 0,
      timestamp: Date.now(),
    });
    await submit(m2, tx);

    await heightsReach([m1, m2], joined + WINDOW, 60_000);
    // Two miners at 250 ms blocks fork often at the tip: read both chains while their heads
    // agree and stay put (a reorganisation between the reads would compare two moments).
    const { chain } = await eventually(
      "one chain on both miners, read at one moment",
      async () => {
        const head = await sameHead([m1, m2], 30_000);
        const chain = await blocks(m1, 1, head.height);
        const other = await blocks(m2, 1, head.height);
        const same = chain.map((b) => b.hash).join() === other.map((b) => b.hash).join();
        return same && chain.at(-1)?.hash === head.headHash ? { head, chain } : undefined;
      },
      60_000,
    );

    // Both mined blocks of it since they met (equal hash power: all of 20+ blocks by one miner
    // has odds of 2^-19).
    const recent = chain.slice(joined);
    expect(recent.length).toBeGreaterThanOrEqual(WINDOW);
    const mined = miners.map((m) => recent.filter((b) => b.forger === hex(m)).length);
    expect(mined[0]! + mined[1]!).toBe(recent.length);
    expect(mined[0]).toBeGreaterThan(0);
    expect(mined[1]).toBeGreaterThan(0);
    // Every block meets its own target (SPEC section 5).
    for (const b of chain) {
      expect(b.target).toMatch(/^[0-9a-f]{64}$/);
      expect(BigInt(`0x${b.hash}`) <= BigInt(`0x${b.target}`)).toBe(true);
    }

    const included = await eventually(
      "the transaction mined on both",
      async () => {
        const seen = await Promise.all([transaction(m1, tx.id), transaction(m2, tx.id)]);
        return seen.every((s) => s?.status === "included") && seen;
      },
      30_000,
    );
    expect(included[0]!.blockHash).toBe(included[1]!.blockHash);
  }, 120_000);
});

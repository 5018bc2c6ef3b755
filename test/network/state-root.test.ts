import { describe, expect, it } from "vitest";
import { ChainStore } from "../../src/store/store.js";
import {
  account,
  eventually,
  fullyConnected,
  genesisJson,
  heightsReach,
  metric,
  status,
  submit,
  transaction,
  useClusters,
} from "../helpers/cluster.js";
import { makeTx, testKey } from "../helpers/ledger.js";

const CHAIN = "lotchain-net-stateroot";
const validator = testKey(191);
const alice = testKey(192);
const bob = testKey(193);

describe("a node whose state was corrupted on disk", () => {
  const cluster = useClusters();

  it("stops at the first block whose state root disagrees instead of forking silently", async () => {
    const c = cluster(
      genesisJson({
        chainId: CHAIN,
        consensus: { type: "pos", slotMs: 200, finalityDepth: 64 },
        validators: [[validator, 10]],
        alloc: [
          [alice, 1_000],
          [bob, 1_000],
        ],
      }),
    );
    const v = await c.start("v", { key: validator, forgeEmptyBlocks: true });
    let f = await c.start("f", { bootstrap: [v] });
    await fullyConnected([v, f], 20_000);
    await heightsReach([v, f], 3, 20_000);

    // The full node stops; someone edits its store: 5 moved from alice to bob (the supply check
    // at start cannot see it: the sum is the same).
    await c.stop(f);
    const store = await ChainStore.open(f.dataDir);
    const accounts = await store.loadAccounts();
    const a = accounts.get(alice.address)!;
    const b = accounts.get(bob.address)!;
    await store
      .batch()
      .setAccount(alice.address, { ...a, balance: a.balance - 5n })
      .setAccount(bob.address, { ...b, balance: b.balance + 5n })
      .write();
    await store.close();
    f = await c.restart(f);
    await fullyConnected([v, f], 20_000);

    // Blocks that do not touch alice or bob still agree...
    const before = (await status(v)).height;
    await heightsReach([f], before + 2, 20_000);
    // ...the first one that does is refused: its root is not the root of f's (wrong) state.
    const tx = makeTx(alice, {
      chainId: CHAIN,
      to: bob.address,
      amount: 1n,
      fee: 0n,
      nonce: 0,
      timestamp: Date.now(),
    });
    await submit(v, tx);
    const included = await eventually(
      "the transfer included on v",
      async () => {
        const t = await transaction(v, tx.id);
        return t?.status === "included" ? t : undefined;
      },
      20_000,
    );
    await eventually(
      "f refuses that block for its state root",
      async () =>
        (await metric(f, "lotchain_blocks_rejected_total", { reason: "BadStateRoot" })) > 0,
      20_000,
    );
    // f stays below it while v goes on, and never takes a branch of its own: the blocks that
    // follow reach it (by gossip and its sync) and are refused too.
    await heightsReach([v], included.height! + 5, 20_000);
    await eventually(
      "f refuses the blocks built on it as well",
      async () => (await metric(f, "lotchain_blocks_rejected_total")) >= 3,
      20_000,
    );
    const stuck = await status(f);
    expect(stuck.height).toBe(included.height! - 1);
    expect((await status(v)).height).toBeGreaterThan(stuck.height + 4);
    // Its API still shows what its disk says, but it never built on it.
    expect((await account(f, alice.address)).balance).toBe("995");
  }, 120_000);
});

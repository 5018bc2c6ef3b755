import { describe, expect, it } from "vitest";
import {
  eventually,
  fullyConnected,
  genesisJson,
  peers,
  submit,
  transaction,
  useClusters,
} from "../helpers/cluster.js";
import { makeTx, testKey } from "../helpers/ledger.js";

const CHAIN = "lotchain-net-rebroadcast";
const validator = testKey(195);
const alice = testKey(196);

describe("a transaction acknowledged by a node that had no peer yet", () => {
  const cluster = useClusters();

  it("is announced again once peers are there, and gets into a block", async () => {
    const c = cluster(
      genesisJson({
        chainId: CHAIN,
        consensus: { type: "pos", slotMs: 200, finalityDepth: 64 },
        validators: [[validator, 10]],
        alloc: [[alice, 1_000]],
      }),
    );
    // A full node alone: its first announcement of the transaction reaches nobody.
    const lonely = await c.start("lonely");
    expect(await peers(lonely)).toEqual([]);
    const tx = makeTx(alice, {
      chainId: CHAIN,
      to: validator.address,
      amount: 3n,
      fee: 0n,
      nonce: 0,
      timestamp: Date.now(),
    });
    await submit(lonely, tx);
    // The validator comes later and connects to it.
    const v = await c.start("v", { key: validator, bootstrap: [lonely] });
    await fullyConnected([lonely, v], 20_000);
    await eventually(
      "the transaction included on the validator",
      async () => (await transaction(v, tx.id))?.status === "included",
      40_000,
    );
    await eventually(
      "and on the node that took it",
      async () => (await transaction(lonely, tx.id))?.status === "included",
      20_000,
    );
  }, 90_000);
});

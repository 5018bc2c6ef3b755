import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { epochOf } from "../../src/consensus/index.js";
import { POS_DEFAULTS } from "../../src/core/genesis.js";
import { parsePrivateKeyPem } from "../../src/core/keys.js";
import {
  account,
  agreeAt,
  blocks,
  fullyConnected,
  heightsReach,
  runLotchain,
  useClusters,
} from "../helpers/cluster.js";
import { REPO } from "../helpers/node-process.js";

/** The epoch length of the test genesis files (the default). */
const EPOCH_SLOTS = POS_DEFAULTS.epochSlots;

const devnetKey = (name: string) =>
  parsePrivateKeyPem(readFileSync(join(REPO, "devnet", "keys", `${name}PrivateKey.pem`), "utf8"));
const genesisKey = devnetKey("genesis");
const alice = devnetKey("staker");
const exchange = devnetKey("exchange");
const hex = (k: { publicKey: Uint8Array }) => Buffer.from(k.publicKey).toString("hex");

/** Blocks counted once alice's stake is in the lottery: 25/26 expected, > 0.75 asserted. */
const COUNTED_BLOCKS = 80;

describe("the seed's story on two nodes", () => {
  const cluster = useClusters();

  it("ends as SPEC section 7 says, and then alice forges most blocks", async () => {
    // The bundled devnet genesis (genesis key stakes 1, the exchange funds accounts, fees 0),
    // with short slots.
    const bundled = JSON.parse(readFileSync(join(REPO, "devnet", "genesis.json"), "utf8"));
    expect(bundled.validators).toEqual({ [genesisKey.address]: "1" });
    expect(bundled.exchange).toEqual([exchange.address]);
    const c = cluster({
      ...bundled,
      chainId: "lotchain-net-demo",
      timestamp: Date.now(),
      consensus: { type: "pos", slotMs: 100, finalityDepth: 64 },
    });
    const n1 = await c.start("genesis-key", { key: genesisKey, forgeEmptyBlocks: true });
    const n2 = await c.start("alice", { key: alice, forgeEmptyBlocks: true, bootstrap: [n1] });
    await fullyConnected([n1, n2], 20_000);

    const demo = await runLotchain(["demo", "--node", n1.apiUrl, "--json"], 90_000);
    expect(demo.code, demo.stderr).toBe(0);
    const story = JSON.parse(demo.stdout);
    expect(story.steps.map((s: any) => [s.from, s.type, s.to, s.amount])).toEqual([
      ["exchange", "EXCHANGE", "alice", "100"],
      ["exchange", "EXCHANGE", "bob", "100"],
      ["exchange", "EXCHANGE", "bob", "10"],
      ["alice", "STAKE", "alice", "25"],
      ["alice", "TRANSFER", "bob", "1"],
      ["alice", "TRANSFER", "bob", "1"],
    ]);
    expect(story.accounts.bob.balance).toBe("112");
    expect(story.accounts.alice).toMatchObject({ balance: "73", stake: "25" });
    const bob = story.accounts.bob.address;

    // Both nodes hold the same ledger (fees are 0 on this genesis: alice keeps exactly 73).
    const lastStep = Math.max(...story.steps.map((s: any) => s.height));
    await heightsReach([n1, n2], lastStep, 20_000);
    await agreeAt([n1, n2], lastStep, 10_000);
    for (const node of [n1, n2]) {
      expect(await account(node, bob), node.name).toMatchObject({ balance: "112", stake: "0" });
      expect(await account(node, alice.address), node.name).toMatchObject({
        balance: "73",
        stake: "25",
      });
    }

    // Her stake joins the lottery at the epoch after the next epoch with a block (the lottery of
    // an epoch draws from stakes fixed before any randomness feeding it existed): with both
    // nodes forging every slot they win, two epochs after her STAKE's. From then on she holds
    // 25 of the 26 lots.
    const staked = story.steps.find((s: any) => s.type === "STAKE").height;
    await heightsReach([n1, n2], staked + 4 * EPOCH_SLOTS, 60_000);
    const around = await blocks(n2, staked, staked + 4 * EPOCH_SLOTS);
    const stakeEpoch = epochOf(around[0]!.slot!, EPOCH_SLOTS);
    const next = around.find((b) => epochOf(b.slot!, EPOCH_SLOTS) > stakeEpoch);
    expect(next, "a block in a later epoch").toBeDefined();
    const activation = epochOf(next!.slot!, EPOCH_SLOTS) + 1;
    const first = around.find((b) => epochOf(b.slot!, EPOCH_SLOTS) >= activation);
    expect(first, "a block of the epoch alice's stake joins").toBeDefined();
    const from = first!.height;
    const to = from + COUNTED_BLOCKS - 1;
    await heightsReach([n1, n2], to, 60_000);
    await agreeAt([n1, n2], to, 10_000);
    const counted = await blocks(n2, from, to);
    expect(counted).toHaveLength(COUNTED_BLOCKS);
    const byAlice = counted.filter((b) => b.forger === hex(alice)).length;
    const byGenesisKey = counted.filter((b) => b.forger === hex(genesisKey)).length;
    expect(byAlice + byGenesisKey).toBe(COUNTED_BLOCKS);
    // Binomial(80, 25/26): mean 76.9, sd 1.7; 60 is ten deviations below the mean.
    expect(byAlice / COUNTED_BLOCKS).toBeGreaterThan(0.75);
  }, 150_000);
});

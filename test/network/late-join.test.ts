import { describe, expect, it } from "vitest";
import {
  block,
  eventually,
  genesisJson,
  heightsReach,
  metric,
  status,
  useClusters,
} from "../helpers/cluster.js";
import { testKey } from "../helpers/ledger.js";

const CHAIN = "lotchain-net-late-join";
const validator = testKey(141);
const CHAIN_LENGTH = 500;

describe("a node that joins late", () => {
  const cluster = useClusters();

  it(`syncs a chain of ${CHAIN_LENGTH}+ blocks and follows the head`, async () => {
    const c = cluster(
      genesisJson({
        chainId: CHAIN,
        // 20 ms slots and one validator forging every slot: 500 blocks in about 10 s
        consensus: { type: "pos", slotMs: 20, finalityDepth: 64 },
        validators: [[validator, 1]],
      }),
    );
    const v = await c.start("validator", { key: validator, forgeEmptyBlocks: true });
    await heightsReach([v], CHAIN_LENGTH, 60_000);

    // A full node (no key) joins: everything it has must come from its peer.
    const late = await c.start("late", { bootstrap: [v] });
    const first = await status(late);
    expect(first.height).toBeLessThan(CHAIN_LENGTH);

    // It catches up with a head that keeps moving (the validator forges on meanwhile).
    const target = (await status(v)).height;
    const caughtUp = await eventually(
      "the late node caught up",
      async () => {
        const s = await status(late);
        return s.height >= target && !s.syncing && s;
      },
      60_000,
    );
    // Its chain is the validator's: the block at its head height is the same block.
    expect((await block(v, caughtUp.height)).hash).toBe(caughtUp.headHash);
    expect((await block(late, "genesis")).hash).toBe((await block(v, "genesis")).hash);
    // The blocks forged before it started can only have come by sync (gossip carries new blocks).
    const synced = await metric(late, "lotchain_blocks_imported_total", { source: "sync" });
    expect(synced).toBeGreaterThanOrEqual(CHAIN_LENGTH);
    expect((await status(late)).peers).toBeGreaterThanOrEqual(1);

    // And it keeps following the head afterwards.
    const later = (await status(v)).height + 20;
    await heightsReach([late], later, 30_000);
    expect((await block(late, later)).hash).toBe((await block(v, later)).hash);
  }, 150_000);
});

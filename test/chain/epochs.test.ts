import { describe, expect, it } from "vitest";
import type { Chain } from "../../src/chain/chain.js";
import { epochOf, epochStartSlot, nextEpochNonce } from "../../src/consensus/index.js";
import type { Block } from "../../src/core/block.js";
import { toHex } from "../../src/core/bytes.js";
import { POS_DEFAULTS } from "../../src/core/genesis.js";
import { checkStoreByReplay } from "../crash/replay.js";
import {
  type BlockTreeModel,
  type ChildOptions,
  KEYS,
  openChain,
  testGenesis,
  tx,
} from "./chain-fixtures.js";
import { chainsPerTest } from "./open-chains.js";

/** The epoch length of the test genesis files (the default). */
const EPOCH_SLOTS = POS_DEFAULTS.epochSlots;

const { alice, carol } = KEYS;
const chains = chainsPerTest();

const slotOf = (b: Block) => (b.header.seal as { slot: number }).slot;

/** The lottery of `slot` on the chain's head, which must be known. */
function lotteryOf(chain: Chain, slot: number) {
  const lottery = chain.lottery(slot);
  if (!lottery) throw new Error(`no lottery for slot ${slot}`);
  return lottery;
}

/** A child at the first slot from `slot` that a key of the model wins. */
function childAt(
  model: BlockTreeModel,
  parent: Block,
  slot: number,
  txs = [] as ReturnType<typeof tx>[],
  options: ChildOptions = {},
) {
  return model.child(parent, txs, { ...options, minSlot: slot });
}

describe("epochs on the chain", () => {
  it("a STAKE counts from two epochs later on a chain with blocks in every epoch", async () => {
    const genesis = testGenesis("pos");
    const { model, chain, dir } = await chains.open(genesis);
    const stake = tx(alice, 0, { type: "STAKE", to: alice, amount: 900n });
    // The STAKE in epoch 1, then a block in every epoch.
    const b1 = childAt(model, model.genesisBlock, EPOCH_SLOTS + 1, [stake]);
    const b2 = childAt(model, b1, 2 * EPOCH_SLOTS + 1);
    const b3 = childAt(model, b2, 3 * EPOCH_SLOTS + 1);
    for (const b of [b1, b2, b3]) expect((await chain.importBlock(b)).status).toBe("head");
    expect(chain.validators().total).toBe(1000n);
    // On b1: epochs 1 and 2 still draw from the genesis stakes.
    expect(epochOf(slotOf(b1), EPOCH_SLOTS)).toBe(1);
    expect(model.lottery(b1, 2 * EPOCH_SLOTS).validators.total).toBe(100n);
    expect(model.lottery(b2, 3 * EPOCH_SLOTS).validators.total).toBe(1000n);
    // The chain agrees with the model, on its head: epoch 3 has alice's stake, and after it.
    for (const slot of [slotOf(b3) + 1, 4 * EPOCH_SLOTS, 9 * EPOCH_SLOTS + 5]) {
      const fromChain = lotteryOf(chain, slot);
      const fromModel = model.lottery(b3, slot);
      expect(toHex(fromChain.epoch.nonce)).toBe(toHex(fromModel.epoch.nonce));
      expect(fromChain.validators.total).toBe(fromModel.validators.total);
    }
    expect(lotteryOf(chain, slotOf(b3) + 1).validators.total).toBe(1000n);
    expect(lotteryOf(chain, slotOf(b3) + 1).validators.entries.map((e) => e.address)).toContain(
      alice.address,
    );
    await chain.close();
    await checkStoreByReplay(dir, genesis);
  });

  it("across empty epochs: each epoch its own nonce at no cost, stakes from the epoch after the next with a block", async () => {
    const genesis = testGenesis("pos");
    const { model, chain, dir } = await chains.open(genesis);
    const stake = tx(alice, 0, { type: "STAKE", to: alice, amount: 900n });
    const b1 = childAt(model, model.genesisBlock, 1, [stake]);
    expect((await chain.importBlock(b1)).status).toBe("head");
    // Epochs 1 to 99 have no block: every one has its own nonce, all from b1's epoch.
    const nonces = new Set<string>();
    for (let epoch = 1; epoch < 100; epoch++) {
      const { epoch: context, validators } = lotteryOf(
        chain,
        epochStartSlot(epoch, EPOCH_SLOTS) + 3,
      );
      expect(context.epoch).toBe(epoch);
      expect(toHex(context.snapshot)).toBe(model.genesisBlock.hashHex);
      expect(validators.total).toBe(100n);
      const link = model.linkOf(b1)!;
      expect(toHex(context.nonce)).toBe(toHex(nextEpochNonce(link.nonce, link.accumulator, epoch)));
      nonces.add(toHex(context.nonce));
    }
    expect(nonces.size).toBe(99);
    // A block far ahead (epoch 1000), then the stake counts from the epoch after it.
    const far = childAt(model, b1, 1000 * EPOCH_SLOTS + 2);
    expect((await chain.importBlock(far)).status).toBe("head");
    expect(lotteryOf(chain, slotOf(far) + 1).validators.total).toBe(100n);
    expect(lotteryOf(chain, 1001 * EPOCH_SLOTS).validators.total).toBe(1000n);
    expect(toHex(lotteryOf(chain, 1001 * EPOCH_SLOTS).epoch.snapshot)).toBe(b1.hashHex);
    // Restarted, the chain still knows every snapshot it needs.
    await chain.close();
    const reopened = await openChain(dir, genesis);
    chains.defer(() => reopened.close());
    expect(lotteryOf(reopened, 1001 * EPOCH_SLOTS).validators.total).toBe(1000n);
    const next = childAt(model, far, 1001 * EPOCH_SLOTS);
    expect((await reopened.importBlock(next)).status).toBe("head");
    await reopened.close();
    await checkStoreByReplay(dir, genesis);
  });

  it("across reorganisations: the lottery follows the branch, and the store equals a replay", async () => {
    const genesis = testGenesis("pos", { finalityDepth: 64 });
    const { model, chain, dir } = await chains.open(genesis);
    const fund = tx(alice, 0, { to: carol, amount: 5000n });
    // Branch A: carol gets funds and stakes 300 in epoch 1; blocks in epochs 0 to 4.
    const a1 = childAt(model, model.genesisBlock, 2, [fund]);
    const a2 = childAt(model, a1, EPOCH_SLOTS + 1, [
      tx(carol, 0, { type: "STAKE", to: carol, amount: 300n }),
    ]);
    const a3 = childAt(model, a2, 2 * EPOCH_SLOTS + 1);
    const a4 = childAt(model, a3, 3 * EPOCH_SLOTS + 1);
    const a5 = childAt(model, a4, 4 * EPOCH_SLOTS + 1);
    for (const b of [a1, a2, a3, a4, a5]) expect((await chain.importBlock(b)).status).toBe("head");
    expect(lotteryOf(chain, 5 * EPOCH_SLOTS).validators.total).toBe(400n);
    // Branch B leaves a1 (epoch 0; its child on A is in another epoch, so it was recorded) and
    // stakes alice instead; it is longer, with epochs of its own and an empty one.
    const b2 = childAt(model, a1, EPOCH_SLOTS + 3, [
      tx(alice, 1, { type: "STAKE", to: alice, amount: 50n }),
    ]);
    const b3 = childAt(model, b2, EPOCH_SLOTS + 5);
    const b4 = childAt(model, b3, 3 * EPOCH_SLOTS + 2);
    const b5 = childAt(model, b4, 4 * EPOCH_SLOTS + 2);
    const b6 = childAt(model, b5, 4 * EPOCH_SLOTS + 4);
    const b7 = childAt(model, b6, 5 * EPOCH_SLOTS + 1);
    for (const b of [b2, b3, b4, b5]) expect((await chain.importBlock(b)).status).toBe("side");
    expect(chain.head.hashHex).toBe(a5.hashHex);
    expect((await chain.importBlock(b6)).status).toBe("head");
    expect((await chain.importBlock(b7)).status).toBe("head");
    const onB = lotteryOf(chain, 6 * EPOCH_SLOTS);
    expect(onB.validators.total).toBe(150n);
    expect(toHex(onB.epoch.nonce)).toBe(toHex(model.lottery(b7, 6 * EPOCH_SLOTS).epoch.nonce));
    // And back to A, longer now.
    const a6 = childAt(model, a5, 5 * EPOCH_SLOTS + 2);
    const a7 = childAt(model, a6, 6 * EPOCH_SLOTS + 1);
    const a8 = childAt(model, a7, 6 * EPOCH_SLOTS + 3);
    for (const b of [a6, a7, a8]) await chain.importBlock(b);
    expect(chain.head.hashHex).toBe(a8.hashHex);
    expect(lotteryOf(chain, 7 * EPOCH_SLOTS).validators.total).toBe(400n);
    expect(toHex(lotteryOf(chain, 7 * EPOCH_SLOTS).epoch.nonce)).toBe(
      toHex(model.lottery(a8, 7 * EPOCH_SLOTS).epoch.nonce),
    );
    await chain.close();
    expect(await checkStoreByReplay(dir, genesis)).toMatchObject({ headHash: a8.hashHex });
  });
});

import { describe, expect, it } from "vitest";
import { MAX_BLOCKS_PER_FORGER_SLOT } from "../../src/chain/chain-import.js";
import type { Block } from "../../src/core/block.js";
import { POS_DEFAULTS } from "../../src/core/genesis.js";
import { checkStoreByReplay } from "../crash/replay.js";
import { KEYS, openChain, rejectionCode, snapshot, testGenesis, tx } from "./chain-fixtures.js";
import { chainsPerTest } from "./open-chains.js";

/** The epoch length of the test genesis files (the default). */
const EPOCH_SLOTS = POS_DEFAULTS.epochSlots;

const { alice, carol } = KEYS;
const chains = chainsPerTest();
const slotOf = (b: Block) => (b.header.seal as { slot: number }).slot;

async function setup(finalityDepth = 8) {
  const genesis = testGenesis("pos", { finalityDepth });
  return chains.open(genesis);
}

describe("side blocks are checked in full, lottery included, before they are stored", () => {
  // The review's repro (/tmp/rev/side-junk.test.ts): a key with no stake got 20 of 20 junk side
  // blocks stored, because only the rules needing the parent alone were checked.
  it("a key without stake gets no side block stored", async () => {
    const { model, chain, dir, genesis } = await setup();
    const main = model.extend(model.genesisBlock, 3);
    for (const b of main) await chain.importBlock(b);
    const before = snapshot(chain);
    for (let i = 0; i < 20; i++) {
      const junk = model.child(main[0]!, [tx(carol, 0, { amount: BigInt(i + 1) })], {
        forgerOverride: carol,
        minSlot: 10 + i,
        invalid: true,
      });
      expect(await rejectionCode(chain.importBlock(junk))).toBe("WrongForger");
      expect(chain.hasBlock(junk.hashHex)).toBe(false);
    }
    expect(snapshot(chain)).toEqual(before);
    await chain.close();
    expect((await checkStoreByReplay(dir, genesis)).sideBlocks).toBe(0);
  });

  it("also where the epoch's snapshot is a block the main chain never recorded (a fork right at it)", async () => {
    const { model, chain, dir, genesis } = await setup();
    // main[0..4] all in epoch 0: main[0] is no epoch's last block on the main chain.
    const main = model.extend(model.genesisBlock, 5);
    for (const b of main) await chain.importBlock(b);
    expect(main.every((b) => (b.header.seal as { slot: number }).slot < EPOCH_SLOTS)).toBe(true);
    // A side branch leaves main[0] into epoch 1; below it, epoch 2 draws from the state after
    // main[0], which the chain computes by walking back from the head, then records.
    const side = model.child(main[0]!, [], { minSlot: EPOCH_SLOTS });
    expect((await chain.importBlock(side)).status).toBe("side");
    const before = snapshot(chain);
    for (let i = 0; i < 5; i++) {
      const junk = model.child(side, [], {
        forgerOverride: carol,
        minSlot: 2 * EPOCH_SLOTS + i,
        invalid: true,
      });
      expect(await rejectionCode(chain.importBlock(junk))).toBe("WrongForger");
    }
    expect(snapshot(chain)).toEqual(before);
    const honest = model.child(side, [], { minSlot: 2 * EPOCH_SLOTS });
    expect((await chain.importBlock(honest)).status).toBe("side");
    await chain.close();
    expect((await checkStoreByReplay(dir, genesis)).sideBlocks).toBe(2);
  });
});

describe("equivocation: blocks of one forger for one slot", () => {
  it(`stores at most ${MAX_BLOCKS_PER_FORGER_SLOT}; more wait in memory until a block builds on one`, async () => {
    const { model, chain, dir, genesis } = await setup(64);
    const main = model.extend(model.genesisBlock, 4);
    for (const b of main) await chain.importBlock(b);
    // Five valid blocks of the same forger for the same slot, differing in their transactions.
    const variants = Array.from({ length: 5 }, (_, i) =>
      model.child(main[0]!, [tx(alice, 0, { amount: BigInt(i + 1) })], { minSlot: 20 }),
    );
    expect(new Set(variants.map((b) => (b.header.seal as { slot: number }).slot)).size).toBe(1);
    const statuses = [];
    for (const b of variants) statuses.push((await chain.importBlock(b)).status);
    expect(statuses).toEqual(["side", "side", "known", "known", "known"]);
    expect(variants.every((b) => chain.hasBlock(b.hashHex))).toBe(true);
    // A block building on a held-back one: both are stored, and that branch can win.
    const child = model.child(variants[3]!, [], { minSlot: 21 });
    expect((await chain.importBlock(child)).status).toBe("side");
    const branch = model.extend(child, 3);
    for (const b of branch) await chain.importBlock(b);
    expect(chain.head.hashHex).toBe(branch[2]!.hashHex);
    await chain.close();
    const report = await checkStoreByReplay(dir, genesis);
    expect(report.headHash).toBe(branch[2]!.hashHex);
    // Stored: 2 variants and the one built on; the old main chain above main[0] stays stored.
    expect(report.sideBlocks).toBe(2 + 3);
  });

  it("a held-back block whose child arrived first connects when it is fetched", async () => {
    const { model, chain } = await setup(64);
    const main = model.extend(model.genesisBlock, 4);
    for (const b of main) await chain.importBlock(b);
    const variants = Array.from({ length: 3 }, (_, i) =>
      model.child(main[0]!, [tx(alice, 0, { amount: BigInt(i + 1) })], { minSlot: 20 }),
    );
    const child = model.child(variants[2]!, [], { minSlot: 21 });
    for (const b of variants.slice(0, 2)) await chain.importBlock(b);
    // The child first: an orphan waiting for its parent, which is then not held back.
    expect((await chain.importBlock(child)).status).toBe("orphan");
    expect((await chain.importBlock(variants[2]!)).status).toBe("side");
    expect(chain.getHeader(child.hashHex)).toBeDefined();
  });
});

describe("side branches are pruned once they fall below finality", () => {
  it("a lost branch, an equivocation and a reorganised-away branch leave the disk; the store equals a replay", async () => {
    const { model, chain, dir, genesis } = await setup(4);
    const main = model.extend(model.genesisBlock, 3);
    for (const b of main) await chain.importBlock(b);
    // A branch of two off main[0] (a lost race), and a second block of one forger for a slot
    // off main[1] (an equivocation: it stays stored as evidence while it can matter).
    const lost = model.extend(main[0]!, 2, () => [], { minSlot: 40 });
    for (const b of lost) expect((await chain.importBlock(b)).status).toBe("side");
    const twin = model.child(main[1]!, [tx(alice, 0, { amount: 7n })], { minSlot: 60 });
    expect((await chain.importBlock(twin)).status).toBe("side");
    // A branch off main[2] that becomes the main chain: main[2]'s old child is reverted.
    const oldTip = model.child(main[2]!, [], { minSlot: 80 });
    expect((await chain.importBlock(oldTip)).status).toBe("head");
    const winner = model.extend(main[2]!, 2, () => [], { minSlot: 90 });
    for (const b of winner) await chain.importBlock(b);
    expect(chain.head.hashHex).toBe(winner[1]!.hashHex);
    const sides = [...lost, twin, oldTip];
    // Head at 5, finalized 1: a branch may still leave main[0], so nothing is pruned yet.
    expect(chain.finalizedHeight).toBe(1);
    expect(sides.every((b) => chain.hasBlock(b.hashHex))).toBe(true);
    // Head at 6, finalized 2 (main[1]): the branch off main[0] is gone, the others are not.
    const more = model.extend(winner[1]!, 3);
    await chain.importBlock(more[0]!);
    expect(chain.finalizedHeight).toBe(2);
    expect(lost.some((b) => chain.hasBlock(b.hashHex))).toBe(false);
    expect(chain.hasBlock(twin.hashHex)).toBe(true);
    expect(chain.hasBlock(oldTip.hashHex)).toBe(true);
    // Head at 8, finalized 4: every side branch has left the disk.
    for (const b of more.slice(1)) await chain.importBlock(b);
    expect(chain.finalizedHeight).toBe(4);
    for (const b of sides) {
      expect(chain.hasBlock(b.hashHex)).toBe(false);
      expect(chain.getHeader(b.hashHex)).toBeUndefined();
    }
    // A block built on a pruned one can only join below finality: refused, nothing stored.
    const late = model.child(lost[1]!, [], { minSlot: 200 });
    expect(await rejectionCode(chain.importBlock(late))).toBe("BelowFinality");
    expect(chain.hasBlock(late.hashHex)).toBe(false);
    await chain.close();
    // No side block below finality, no link, index or snapshot record left behind.
    const report = await checkStoreByReplay(dir, genesis);
    expect(report.headHash).toBe(more[2]!.hashHex);
    expect(report.sideBlocks).toBe(0);
  });

  it("a validator set that only a pruned branch recorded leaves with it; shared ones stay", async () => {
    const { model, chain, dir, genesis } = await setup(4);
    const main = model.extend(model.genesisBlock, 4);
    for (const b of main) await chain.importBlock(b);
    expect(slotOf(main[3]!)).toBeLessThan(EPOCH_SLOTS);
    // A branch off main[0] whose first block stakes (its validators differ from any the main
    // chain has), then blocks in epochs 1 and 2: epoch 2 draws from the state after that first
    // block, so the chain records its set (3 MB at 100,000 validators) to check the lottery.
    const stake = tx(alice, 0, { type: "STAKE", to: alice, amount: 900n });
    const s1 = model.child(main[0]!, [stake], { minSlot: slotOf(main[0]!) + 1 });
    expect(slotOf(s1)).toBeLessThan(EPOCH_SLOTS);
    const s2 = model.child(s1, [], { minSlot: EPOCH_SLOTS });
    const s3 = model.child(s2, [], { minSlot: 2 * EPOCH_SLOTS });
    // And a branch with no stake change: the sets it records are the genesis one, which the
    // main chain's records point to as well.
    const t1 = model.child(main[0]!, [], { minSlot: slotOf(s1) + 1 });
    expect(slotOf(t1)).toBeLessThan(EPOCH_SLOTS);
    const t2 = model.child(t1, [], { minSlot: slotOf(s2) + 1 });
    const t3 = model.child(t2, [], { minSlot: slotOf(s3) + 1 });
    for (const b of [s1, s2, s3, t1, t2, t3])
      expect((await chain.importBlock(b)).status).toBe("side");
    await chain.close();
    const before = await checkStoreByReplay(dir, genesis);
    expect(before).toMatchObject({ sideBlocks: 6, validatorSets: 2 });
    // The main chain goes on past finality at height 2: the branch and its own set leave the
    // disk in the batch that moves the head; the genesis set the main chain draws from stays.
    const reopened = await openChain(dir, genesis);
    chains.defer(() => reopened.close());
    const more = model.extend(main[3]!, 2);
    for (const b of more) await reopened.importBlock(b);
    expect(reopened.finalizedHeight).toBe(2);
    expect([s1, s2, s3, t1, t2, t3].some((b) => reopened.hasBlock(b.hashHex))).toBe(false);
    await reopened.close();
    const after = await checkStoreByReplay(dir, genesis);
    expect(after).toMatchObject({ sideBlocks: 0, validatorSets: 1, headHash: more[1]!.hashHex });
  });

  it("so does a set of a branch that was the main chain for a while (recorded twice, counted once)", async () => {
    const { model, chain, dir, genesis } = await setup(4);
    const main = model.extend(model.genesisBlock, 4);
    for (const b of main) await chain.importBlock(b);
    const stake = tx(alice, 0, { type: "STAKE", to: alice, amount: 900n });
    const s1 = model.child(main[0]!, [stake], { minSlot: slotOf(main[0]!) + 1 });
    const s2 = model.child(s1, [], { minSlot: EPOCH_SLOTS });
    const s3 = model.child(s2, [], { minSlot: 2 * EPOCH_SLOTS });
    const s4 = model.child(s3, [], { minSlot: slotOf(s3) + 1 });
    // Stored as a side branch (its set recorded for the lottery of s3), then the main chain.
    for (const b of [s1, s2, s3]) expect((await chain.importBlock(b)).status).toBe("side");
    expect((await chain.importBlock(s4)).status).toBe("head");
    // The old main chain comes back longer and goes on past finality at height 2.
    const back = model.extend(main[3]!, 4);
    for (const b of back) await chain.importBlock(b);
    expect(chain.head.hashHex).toBe(back[3]!.hashHex);
    expect(chain.finalizedHeight).toBe(4);
    expect(chain.hasBlock(s1.hashHex)).toBe(false);
    await chain.close();
    expect(await checkStoreByReplay(dir, genesis)).toMatchObject({
      sideBlocks: 0,
      validatorSets: 1,
    });
  });

  it("the pruning is written with the head: a reopened store has neither the side block nor a dangling index", async () => {
    const { model, chain, dir, genesis } = await setup(2);
    const main = model.extend(model.genesisBlock, 2);
    for (const b of main) await chain.importBlock(b);
    const side = model.extend(main[0]!, 1, () => [], { minSlot: 40 });
    for (const b of side) expect((await chain.importBlock(b)).status).toBe("side");
    // Height 1 final: a branch may still leave main[0]. Height 2 final: the side block is
    // pruned in the same write that moves the head.
    const next = model.extend(main[1]!, 2, () => [], { minSlot: 50 });
    await chain.importBlock(next[0]!);
    expect(chain.finalizedHeight).toBe(1);
    expect(chain.hasBlock(side[0]!.hashHex)).toBe(true);
    await chain.importBlock(next[1]!);
    expect(chain.finalizedHeight).toBe(2);
    expect(chain.hasBlock(side[0]!.hashHex)).toBe(false);
    await chain.close();
    const reopened = await openChain(dir, genesis);
    expect(reopened.head.hashHex).toBe(next[1]!.hashHex);
    expect(reopened.hasBlock(side[0]!.hashHex)).toBe(false);
    await reopened.close();
    expect((await checkStoreByReplay(dir, genesis)).sideBlocks).toBe(0);
  });
});

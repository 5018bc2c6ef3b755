import { describe, expect, it } from "vitest";
import type { Chain, HeadEvent, ReorgEvent } from "../../src/chain/chain.js";
import { POW_FINALITY_DEPTH } from "../../src/consensus/index.js";
import type { Block } from "../../src/core/block.js";
import type { Genesis } from "../../src/core/genesis.js";
import { checkStoreByReplay } from "../crash/replay.js";
import {
  BlockTreeModel,
  type ChildOptions,
  KEYS,
  rejectionCode,
  reseal,
  snapshot,
  testGenesis,
  tx,
} from "./chain-fixtures.js";
import { chainsPerTest } from "./open-chains.js";

const { alice, bob, carol, exchange } = KEYS;
const chains = chainsPerTest();

async function setup(genesis: Genesis, now?: () => number) {
  const { model, dir, chain } = await chains.open(genesis, now ? { now } : {});
  const reorgs: ReorgEvent[] = [];
  const heads: HeadEvent[] = [];
  chain.on("reorg", (e) => reorgs.push(e));
  chain.on("head", (e) => heads.push(e));
  return { model, dir, chain, reorgs, heads };
}

function expectStateOf(chain: Chain, model: BlockTreeModel, block: Block): void {
  const expected = model.stateAfter(block);
  for (const key of Object.values(KEYS))
    expect(chain.getAccount(key.address) ?? null).toEqual(expected.get(key.address) ?? null);
  expect(chain.totalSupply()).toBe(chain.expectedSupply());
}

/**
 * A valid child of `parent` that loses the hash tie-break against `rival` (a block of the same
 * score): candidates differ in their PoS slot or PoW nonce until one has the higher hash.
 */
function childLosingTo(
  model: BlockTreeModel,
  parent: Block,
  rival: Block,
  options: ChildOptions = {},
) {
  for (let n = 0; ; n++) {
    const minSlot = (options.minSlot ?? 0) + n;
    const child = model.child(parent, [], { ...options, minSlot, nonceStart: BigInt(n) << 32n });
    if (child.hashHex > rival.hashHex) return child;
  }
}

describe("Chain: reorganisation under PoS (longest chain)", () => {
  it("switches to a longer branch in one step, with the reverted and added transactions", async () => {
    const genesis = testGenesis("pos");
    const { model, chain, reorgs, heads, dir } = await setup(genesis);
    const t = {
      a1: tx(alice, 0, { to: bob, amount: 10n }),
      a2: tx(alice, 1, { to: carol, amount: 20n }),
      a3: tx(bob, 0, { to: exchange, amount: 5n }),
      b2: tx(alice, 1, { to: exchange, amount: 30n }),
      mint: tx(exchange, 0, { type: "EXCHANGE", to: carol, amount: 70n }),
      stake: tx(carol, 0, { type: "STAKE", to: carol, amount: 60n }),
    };
    const [a1, a2, a3] = model.extend(model.genesisBlock, 3, (i) => [[t.a1], [t.a2], [t.a3]][i]!);
    for (const b of [a1, a2, a3]) expect((await chain.importBlock(b!)).status).toBe("head");

    // Branch B leaves at a1: b2 (height 2) loses to a2, b3 loses the tie with a3, b4 wins.
    const b2 = model.child(a1!, [t.b2, t.a3], { minSlot: 50 });
    const b3 = childLosingTo(model, b2, a3!, { minSlot: 60 });
    const b4 = model.child(b3, [t.mint, t.stake]);
    expect(await chain.importBlock(b2)).toEqual({ status: "side" });
    expect(await chain.importBlock(b3)).toEqual({ status: "side" });
    expect(chain.head.hashHex).toBe(a3!.hashHex);
    expect(reorgs).toEqual([]);
    expect(await chain.importBlock(b4)).toEqual({ status: "head" });

    expect(chain.head).toMatchObject({ hashHex: b4.hashHex, height: 4, score: 4n });
    expect(reorgs).toHaveLength(1);
    const reorg = reorgs[0]!;
    expect(reorg.depth).toBe(2);
    expect(reorg.commonAncestor).toEqual({ hash: a1!.hashHex, height: 1 });
    expect(reorg.oldHead).toEqual({ hash: a3!.hashHex, height: 3 });
    expect(reorg.newHead).toEqual({ hash: b4.hashHex, height: 4 });
    // a3's transaction is in b2 too: only a2's comes back to the mempool.
    expect(reorg.revertedTransactions.map((x) => x.id)).toEqual([t.a2.id]);
    expect(reorg.addedTransactions.map((x) => x.id)).toEqual([
      t.b2.id,
      t.a3.id,
      t.mint.id,
      t.stake.id,
    ]);
    const last = heads[heads.length - 1]!;
    expect(last.applied.map((b) => b.hashHex)).toEqual([b2.hashHex, b3.hashHex, b4.hashHex]);
    expect(last.reverted.map((b) => b.hashHex)).toEqual([a3!.hashHex, a2!.hashHex]);

    // State, indexes and validators are those of the new branch.
    expectStateOf(chain, model, b4);
    expect(chain.validators().total).toBe(160n);
    expect(await chain.getTransaction(t.a2.id)).toBeUndefined();
    expect(chain.hasTransaction(t.a2.id)).toBe(false);
    expect(await chain.getTransaction(t.a3.id)).toMatchObject({
      height: 2,
      blockHash: b2.hashHex,
      index: 1,
    });
    expect((await chain.getBlocks(1, 10)).map((b) => b.hashHex)).toEqual(
      [a1!, b2, b3, b4].map((b) => b.hashHex),
    );
    // Account histories follow the main chain: a2 left carol's, b4's two came in, newest first.
    const history = async (key: typeof alice) =>
      (await chain.getAccountTransactions(key.address, 10)).map((x) => [x.tx.id, x.height]);
    expect(await history(carol)).toEqual([
      [t.stake.id, 4],
      [t.mint.id, 4],
    ]);
    expect(await history(alice)).toEqual([
      [t.b2.id, 2],
      [t.a1.id, 1],
    ]);
    expect(
      (await chain.getAccountTransactions(alice.address, 10, { height: 2 })).map((x) => x.tx.id),
    ).toEqual([t.a1.id]);
    // The old branch is still stored and can win back.
    expect(chain.hasBlock(a3!.hashHex)).toBe(true);
    const [a4, a5] = model.extend(a3!, 2, () => [], { minSlot: 100 });
    expect((await chain.importBlock(a4!)).status).toMatch(/side|head/);
    expect(await chain.importBlock(a5!)).toEqual({ status: "head" });
    expectStateOf(chain, model, a5!);
    expect(chain.validators().total).toBe(100n);
    expect(await chain.getTransaction(t.a2.id)).toMatchObject({ height: 2 });
    expect(await history(carol)).toEqual([[t.a2.id, 2]]);
    expect(await history(alice)).toEqual([
      [t.a2.id, 2],
      [t.a1.id, 1],
    ]);
    await chain.close();
    expect(await checkStoreByReplay(dir, genesis)).toMatchObject({
      height: 5,
      headHash: a5!.hashHex,
    });
  });

  it("picks the same head among equal-score blocks of one slot whatever the arrival order (lower hash)", async () => {
    const genesis = testGenesis("pos");
    const model = new BlockTreeModel(genesis);
    const [a1] = model.extend(model.genesisBlock, 1);
    const x = model.child(a1!, [tx(alice, 0, { to: bob })]);
    const y = model.child(a1!, [tx(alice, 0, { to: carol })]);
    expect(x.header.timestamp).toBe(y.header.timestamp);
    const lower = x.hashHex < y.hashHex ? x : y;
    for (const order of [
      [x, y],
      [y, x],
    ]) {
      // Both arrive within their slot: neither is late (fork-choice.test.ts covers late ones).
      const { chain } = await setup(genesis, () => x.header.timestamp);
      for (const b of [a1!, ...order]) await chain.importBlock(b);
      expect(chain.head.hashHex).toBe(lower.hashHex);
      expectStateOf(chain, model, lower);
    }
  });

  it("marks a failing branch and its descendants invalid and keeps the old head", async () => {
    const genesis = testGenesis("pos");
    const { model, chain, reorgs } = await setup(genesis);
    const [a1, a2, a3] = model.extend(model.genesisBlock, 3, (i) => [tx(alice, i, { to: bob })]);
    for (const b of [a1, a2, a3]) await chain.importBlock(b!);
    // s2 spends bob's money twice: valid to look at, invalid to apply.
    const overspend = [
      tx(bob, 0, { to: alice, amount: 900n }),
      tx(bob, 1, { to: alice, amount: 900n }),
    ];
    const s2 = model.child(a1!, overspend, { minSlot: 40, invalid: true });
    const s3 = childLosingTo(model, s2, a3!);
    const s4 = model.child(s3, []);
    const s5 = model.child(s4, []);
    expect((await chain.importBlock(s2)).status).toBe("side");
    expect((await chain.importBlock(s3)).status).toBe("side");
    const before = snapshot(chain);
    // s4 makes the branch the longest: connecting it finds s2 invalid.
    expect(await rejectionCode(chain.importBlock(s4))).toBe("InsufficientFunds");
    expect(snapshot(chain)).toEqual(before);
    expect(chain.head.hashHex).toBe(a3!.hashHex);
    expect(reorgs).toEqual([]);
    expect(await rejectionCode(chain.importBlock(s3))).toBe("KnownInvalid");
    expect(await rejectionCode(chain.importBlock(s2))).toBe("KnownInvalid");
    expect(await rejectionCode(chain.importBlock(s5))).toBe("KnownInvalid");
    expectStateOf(chain, model, a3!);
  });
});

describe("Chain: side-branch blocks", () => {
  it("checks every header rule, the lottery included, before storing a side block", async () => {
    const genesis = testGenesis("pos");
    const { model, chain } = await setup(genesis);
    const [a1, a2] = model.extend(model.genesisBlock, 2);
    for (const b of [a1, a2]) await chain.importBlock(b!);
    const side = childLosingTo(model, a1!, a2!, { minSlot: 30 });
    const seal = side.header.seal as { type: "pos"; slot: number; vrfProof: Uint8Array };
    const badRandomness = reseal(side, {
      seal: { ...seal, vrfProof: new Uint8Array(80).fill(9) },
    });
    const shortRandomness = reseal(side, {
      seal: { ...seal, vrfProof: new Uint8Array(64).fill(9) },
    });
    const notAfterParent = reseal(side, {
      seal: { ...seal, slot: (a1!.header.seal as { slot: number }).slot },
    });
    const wrongForger = model.child(a1!, [], { minSlot: 30, forgerOverride: carol, invalid: true });
    const before = snapshot(chain);
    expect(await rejectionCode(chain.importBlock(badRandomness))).toBe("BadRandomness");
    expect(await rejectionCode(chain.importBlock(shortRandomness))).toBe("BadRandomness");
    expect(await rejectionCode(chain.importBlock(notAfterParent))).toBe("SlotNotAfterParent");
    expect(await rejectionCode(chain.importBlock(wrongForger))).toBe("WrongForger");
    for (const b of [badRandomness, shortRandomness, notAfterParent, wrongForger])
      expect(chain.hasBlock(b.hashHex)).toBe(false);
    expect(snapshot(chain)).toEqual(before);
    expect((await chain.importBlock(side)).status).toBe("side");
  });
});

describe("Chain: PoW finality (README: reorganisations deeper than 100 blocks are refused)", () => {
  it("takes a heavier branch that leaves the main chain 100 blocks down, refuses one that leaves it 101 down", async () => {
    expect(POW_FINALITY_DEPTH).toBe(100);
    const genesis = testGenesis("pow");
    const { model, chain, reorgs } = await setup(genesis);
    const work = (blocks: Block[]) =>
      blocks.reduce((sum, b) => model.engine.score(b.header, sum), 0n);
    // The main chain: 102 blocks solved in exactly the target time (the target stays put).
    const main = model.extend(model.genesisBlock, 102, () => [], { solveMs: 1000 });
    for (const b of main) expect((await chain.importBlock(b)).status).toBe("head");
    expect(chain.finalizedHeight).toBe(2);
    // A heavier branch: a few quick blocks tighten the target, each later block weighs more.
    const heavier = (parent: Block, count: number) => {
      const quick = model.extend(parent, 6, () => [], { solveMs: 1 });
      return [...quick, ...model.extend(quick.at(-1)!, count - 6, () => [], { solveMs: 1000 })];
    };

    // 101 blocks down: forks at height 1, below the finalized height 2.
    const deep = heavier(main[0]!, 70);
    expect(work(deep)).toBeGreaterThan(work(main.slice(1)));
    const outcomes: string[] = [];
    for (const b of deep)
      outcomes.push(
        await chain.importBlock(b).then(
          (r) => r.status,
          (e: { code?: string }) => e.code ?? "error",
        ),
      );
    // its first block is refused; the rest wait as orphans for a parent that never comes
    expect(outcomes[0]).toBe("BelowFinality");
    expect(new Set(outcomes.slice(1))).toEqual(new Set(["orphan"]));
    for (const b of deep) expect(await chain.getBlockByHash(b.hashHex)).toBeUndefined();
    expect(chain.head.hashHex).toBe(main.at(-1)!.hashHex);
    expect(reorgs).toEqual([]);

    // 100 blocks down: forks at height 2, the finalized height itself, and wins on work.
    const edge = heavier(main[1]!, 70);
    expect(work(edge)).toBeGreaterThan(work(main.slice(2)));
    for (const b of edge) await chain.importBlock(b);
    expect(chain.head.hashHex).toBe(edge.at(-1)!.hashHex);
    expect(reorgs).toHaveLength(1);
    expect(reorgs[0]!.depth).toBe(100);
  });
});

describe("Chain: reorganisation under PoW (most work)", () => {
  it("switches to a shorter branch with more work", async () => {
    const genesis = testGenesis("pow");
    const { model, chain, reorgs, dir } = await setup(genesis);
    const engine = model.engine;
    // A common prefix of quick blocks tightens the target; then the main branch slows down
    // (the target eases, each block weighs less) while the side branch stays quick.
    const prefix = model.extend(model.genesisBlock, 6, (i) => [tx(alice, i, { to: bob })], {
      solveMs: 1,
    });
    for (const b of prefix) await chain.importBlock(b);
    const fork = prefix[prefix.length - 1]!;
    const slow = model.extend(fork, 4, (i) => [tx(alice, 6 + i, { to: carol })], {
      solveMs: 30_000,
    });
    for (const b of slow) expect((await chain.importBlock(b)).status).toBe("head");
    const quick = model.extend(fork, 3, (i) => [tx(bob, i, { to: exchange, amount: 2n })], {
      solveMs: 1,
    });

    const work = (blocks: Block[]) => blocks.reduce((sum, b) => engine.score(b.header, sum), 0n);
    expect(quick.length).toBeLessThan(slow.length);
    expect(work(quick.slice(0, 2))).toBeLessThan(work(slow));
    expect(work(quick)).toBeGreaterThan(work(slow));

    expect((await chain.importBlock(quick[0]!)).status).toBe("side");
    expect((await chain.importBlock(quick[1]!)).status).toBe("side");
    expect(await chain.importBlock(quick[2]!)).toEqual({ status: "head" });
    expect(chain.head.hashHex).toBe(quick[2]!.hashHex);
    expect(chain.head.height).toBe(9);
    expect(reorgs).toHaveLength(1);
    expect(reorgs[0]!.depth).toBe(4);
    expect(reorgs[0]!.revertedTransactions).toHaveLength(4);
    expect(reorgs[0]!.addedTransactions).toHaveLength(3);
    expectStateOf(chain, model, quick[2]!);
    await chain.close();
    expect(await checkStoreByReplay(dir, genesis)).toMatchObject({ height: 9, sideBlocks: 4 });
  });

  it("breaks equal-work ties by the lower hash, whatever the arrival order", async () => {
    const genesis = testGenesis("pow");
    const model = new BlockTreeModel(genesis);
    const [a1] = model.extend(model.genesisBlock, 1);
    const x = model.child(a1!, [], { nonceStart: 0n });
    const y = childLosingTo(model, a1!, x);
    expect(model.engine.score(x.header, 0n)).toBe(model.engine.score(y.header, 0n));
    for (const order of [
      [x, y],
      [y, x],
    ]) {
      const { chain } = await setup(genesis);
      for (const b of [a1!, ...order]) await chain.importBlock(b);
      expect(chain.head.hashHex).toBe(x.hashHex);
    }
  });

  it("rejects a block whose hash is above its target, or with the wrong target", async () => {
    const genesis = testGenesis("pow");
    const { model, chain } = await setup(genesis);
    const [a1] = model.extend(model.genesisBlock, 1);
    await chain.importBlock(a1!);
    const good = model.child(a1!, []);
    const seal = good.header.seal as { type: "pow"; target: bigint; nonce: bigint };
    let unlucky = good;
    // The target is 2^252 - 1: a hash starting with a byte of 0x10 or more is above it.
    for (let n = seal.nonce + 1n; unlucky === good || unlucky.hash[0]! < 0x10; n++)
      unlucky = reseal(good, { seal: { ...seal, nonce: n } });
    expect(await rejectionCode(chain.importBlock(unlucky))).toBe("InsufficientWork");
    const easier = reseal(good, { seal: { ...seal, target: seal.target + 1n } });
    expect(await rejectionCode(chain.importBlock(easier))).toBe("BadTarget");
    expect(chain.head.hashHex).toBe(a1!.hashHex);
  });
});

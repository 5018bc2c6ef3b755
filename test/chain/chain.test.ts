import { describe, expect, it } from "vitest";
import type { Chain, HeadEvent } from "../../src/chain/chain.js";
import { SignatureCache } from "../../src/chain/signatures.js";
import { type Block, makeBlock } from "../../src/core/block.js";
import { isValidationError } from "../../src/core/errors.js";
import { genesisSupply } from "../../src/core/genesis.js";
import { makeTransaction, type Transaction } from "../../src/core/transaction.js";
import { checkStoreByReplay } from "../crash/replay.js";
import {
  BlockTreeModel,
  GENESIS_TIME,
  KEYS,
  openChain,
  rejectionCode,
  reseal,
  signedBlock,
  snapshot,
  testGenesis,
  tx,
} from "./chain-fixtures.js";
import { chainsPerTest } from "./open-chains.js";

const { forger, alice, bob, exchange, carol } = KEYS;
const chains = chainsPerTest();

async function setup(options: { type?: "pos" | "pow"; signatures?: SignatureCache } = {}) {
  const genesis = testGenesis(options.type ?? "pos");
  return chains.open(genesis, { signatures: options.signatures });
}

/** The state the chain reports equals the model's replay of the same block. */
function expectStateOf(chain: Chain, model: BlockTreeModel, block: Block): void {
  const expected = model.stateAfter(block);
  for (const key of Object.values(KEYS))
    expect(chain.getAccount(key.address) ?? null, key.address).toEqual(
      expected.get(key.address) ?? null,
    );
  expect(chain.totalSupply()).toBe(chain.expectedSupply());
  expect(chain.expectedSupply()).toBe(genesisSupply(model.genesis) + model.mintedAfter(block));
}

/** A short story with every transaction type: funds the exchange, mints, transfers, stakes. */
function storyBlocks(model: BlockTreeModel): { blocks: Block[]; txs: Transaction[][] } {
  const txs = [
    [tx(alice, 0, { to: exchange, amount: 100n }), tx(alice, 1, { to: bob, amount: 7n, fee: 2n })],
    [
      tx(exchange, 0, { type: "EXCHANGE", to: carol, amount: 500n }),
      tx(bob, 0, { to: alice, amount: 3n }),
    ],
    [
      tx(carol, 0, { type: "STAKE", to: carol, amount: 50n }),
      tx(carol, 1, { to: bob, amount: 5n }),
    ],
    [tx(carol, 2, { type: "UNSTAKE", to: carol, amount: 20n })],
  ];
  const blocks = model.extend(model.genesisBlock, txs.length, (i) => txs[i]!);
  return { blocks, txs };
}

describe("Chain: open, import and query", () => {
  it("starts a new store with the genesis block and state", async () => {
    const { chain, model, genesis } = await setup();
    expect(chain.head.height).toBe(0);
    expect(chain.head.hashHex).toBe(model.genesisBlock.hashHex);
    expect(chain.genesisHash).toBe(model.genesisBlock.hashHex);
    expect(chain.finalizedHeight).toBe(0);
    expect((await chain.getBlock("genesis"))?.encoded).toEqual(model.genesisBlock.encoded);
    expect((await chain.getBlock(0))?.hashHex).toBe(model.genesisBlock.hashHex);
    expect(chain.getAccount(alice.address)).toEqual({ balance: 1_000_000n, stake: 0n, nonce: 0 });
    expect(chain.totalSupply()).toBe(genesisSupply(genesis));
    expect(chain.validators().entries).toEqual([{ address: forger.address, stake: 100n }]);
    expect(chain.stateView().totalStake).toBe(100n);
  });

  it("imports blocks, emits events and answers every query", async () => {
    const { chain, model } = await setup();
    const heads: HeadEvent[] = [];
    const stored: string[] = [];
    chain.on("head", (e) => heads.push(e));
    chain.on("block", (e) => stored.push(`${e.status}:${e.block.header.height}`));
    const { blocks, txs } = storyBlocks(model);
    for (const block of blocks) {
      expect(await chain.importBlock(block)).toEqual({ status: "head" });
      expectStateOf(chain, model, block);
    }
    const tip = blocks[3]!;
    expect(chain.head).toMatchObject({ hashHex: tip.hashHex, height: 4, score: 4n });
    expect(heads.map((e) => [e.head.hashHex, e.applied.length, e.reverted.length])).toEqual(
      blocks.map((b) => [b.hashHex, 1, 0]),
    );
    expect(stored).toEqual(["head:1", "head:2", "head:3", "head:4"]);

    expect((await chain.getBlock("head"))?.hashHex).toBe(tip.hashHex);
    expect((await chain.getBlock(2))?.hashHex).toBe(blocks[1]!.hashHex);
    expect((await chain.getBlock("2"))?.hashHex).toBe(blocks[1]!.hashHex);
    expect((await chain.getBlock(blocks[0]!.hashHex.toUpperCase()))?.hashHex).toBe(
      blocks[0]!.hashHex,
    );
    expect(await chain.getBlock(5)).toBeUndefined();
    expect(await chain.getBlock("ff".repeat(32))).toBeUndefined();
    await expect(chain.getBlock("latest")).rejects.toThrow(/block id/);
    expect((await chain.getBlocks(1, 2)).map((b) => b.header.height)).toEqual([1, 2]);
    expect((await chain.getBlocks(3, 100)).map((b) => b.header.height)).toEqual([3, 4]);
    expect(await chain.getBlocks(9, 10)).toEqual([]);
    expect(await chain.getMainHashes(0, 10)).toEqual(
      [model.genesisBlock, ...blocks].map((b) => b.hashHex),
    );

    const mint = txs[1]![0]!;
    const found = await chain.getTransaction(mint.id);
    expect(found).toMatchObject({ height: 2, blockHash: blocks[1]!.hashHex, index: 0 });
    expect(found?.tx.encoded).toEqual(mint.encoded);
    expect(chain.hasTransaction(mint.id)).toBe(true);
    expect(await chain.getTransaction(tx(alice, 9).id)).toBeUndefined();
    expect(chain.hasTransaction("zz")).toBe(false);

    expect(chain.hasBlock(tip.hashHex)).toBe(true);
    expect(chain.getHeader(tip.hashHex)?.height).toBe(4);
    expect(chain.getHeader("nope")).toBeUndefined();
    const info = chain.headInfo();
    expect(info.header.height).toBe(4);
    expect(info.headers.getHeader(blocks[2]!.hashHex)?.height).toBe(3);
    // carol staked 50 and unstaked 20: the validators follow the head state.
    expect(chain.validators().total).toBe(130n);
    expect(chain.stateView().reader.getAccount(carol.address)?.stake).toBe(30n);
    expect(await chain.importBlock(blocks[1]!)).toEqual({ status: "known" });
  });

  it("keeps the supply invariant after every block", async () => {
    const { chain, model, genesis } = await setup();
    let parent = model.genesisBlock;
    for (let i = 0; i < 6; i++) {
      const txs = [
        tx(alice, i, { to: exchange, amount: 10n }),
        tx(exchange, i, { type: "EXCHANGE", to: bob, amount: BigInt(1000 * (i + 1)) }),
      ];
      parent = model.child(parent, txs);
      await chain.importBlock(parent);
      expect(chain.totalSupply()).toBe(chain.expectedSupply());
      expectStateOf(chain, model, parent);
    }
    // 21,000 minted by the exchange plus 6 block rewards of 5.
    expect(chain.expectedSupply() - genesisSupply(genesis)).toBe(21_030n);
  });
});

describe("Chain: rejections", () => {
  it("rejects every broken block with a named reason and changes nothing", async () => {
    const { chain, model } = await setup();
    const [b1] = model.extend(model.genesisBlock, 1, () => [tx(alice, 0, { to: bob })]);
    await chain.importBlock(b1!);
    const slot1 = b1!.header.seal.type === "pos" ? b1!.header.seal.slot : 0;
    const good = model.child(b1!, [tx(alice, 1, { to: bob })]);
    const g = good.header;
    const invalidBody = (txs: Transaction[]) => model.child(b1!, txs, { invalid: true });
    const aliceTx = tx(alice, 1, { to: bob });
    const forgedTx = makeTransaction({ ...aliceTx, amount: 2n }, aliceTx.signature);
    const farSlot = Math.ceil((Date.now() - GENESIS_TIME) / 1000) + 3600;
    const cases: [string, Block][] = [
      ["WrongChain", reseal(good, { chainId: "another-chain" })],
      ["BadHeight", reseal(good, { height: 3 })],
      ["BadBlockSignature", signedBlock(g, good.transactions, alice)],
      // Same header (and hash) as `good`, other transactions: must not taint `good`'s hash.
      ["BadTxRoot", makeBlock(g, good.signature, [tx(alice, 1, { to: carol })])],
      ["TooManyTransactions", makeBlock(g, good.signature, Array(5001).fill(aliceTx))],
      ["WrongConsensus", reseal(good, { seal: { type: "pow", target: 1n << 255n, nonce: 0n } })],
      [
        "BadRandomness",
        reseal(good, { seal: { type: "pos", slot: slot1 + 1, vrfProof: new Uint8Array(64) } }),
      ],
      ["WrongForger", model.child(b1!, [], { forgerOverride: alice, invalid: true })],
      [
        "SlotNotAfterParent",
        reseal(good, {
          seal: {
            ...(g.seal as { type: "pos"; slot: number; vrfProof: Uint8Array }),
            slot: slot1,
          },
        }),
      ],
      ["BadTimestamp", reseal(good, { timestamp: g.timestamp + 1 })],
      ["FutureBlock", model.child(b1!, [], { minSlot: farSlot, invalid: true })],
      ["InvalidSignature", invalidBody([forgedTx])],
      ["NonceGap", invalidBody([tx(alice, 5, { to: bob })])],
      ["NonceTooLow", invalidBody([tx(alice, 0, { to: bob })])],
      ["InsufficientFunds", invalidBody([tx(bob, 0, { to: alice, amount: 5000n })])],
      ["DuplicateTransaction", invalidBody([aliceTx, aliceTx])],
      ["NotExchangeAuthority", invalidBody([tx(alice, 1, { type: "EXCHANGE", to: bob })])],
      ["WrongChain", invalidBody([makeTransactionFor("other-chain")])],
      ["FeeTooLow", invalidBody([tx(alice, 1, { to: bob, fee: 0n })])],
      ["InsufficientStake", invalidBody([tx(alice, 1, { type: "UNSTAKE", to: alice })])],
      ["LastStake", invalidBody([tx(forger, 0, { type: "UNSTAKE", to: forger, amount: 100n })])],
    ];
    const before = snapshot(chain);
    for (const [code, block] of cases) {
      expect(await rejectionCode(chain.importBlock(block)), code).toBe(code);
      expect(snapshot(chain), code).toEqual(before);
      expect(chain.hasBlock(block.hashHex), code).toBe(false);
    }
    // After all that, the valid block still imports.
    expect(await chain.importBlock(good)).toEqual({ status: "head" });
  });

  it("rejects blocks and orphans that would reorganise below finality", async () => {
    const genesis = testGenesis("pos", { finalityDepth: 2 });
    const { model, chain } = await chains.open(genesis);
    const main = model.extend(model.genesisBlock, 5);
    for (const b of main) await chain.importBlock(b);
    expect(chain.finalizedHeight).toBe(3);
    const before = snapshot(chain);
    // A branch off height 1 would revert finalized blocks 2 and 3.
    const deep = model.extend(main[0]!, 6, () => [], { minSlot: 100 });
    expect(await rejectionCode(chain.importBlock(deep[0]!))).toBe("BelowFinality");
    // Its descendants arrive as orphans; one at a finalized height is refused at once.
    expect(await rejectionCode(chain.importBlock(deep[1]!))).toBe("BelowFinality");
    expect(snapshot(chain)).toEqual(before);
    // A branch off the finalized block itself may still win.
    const ok = model.extend(main[2]!, 3, () => [], { minSlot: 200 });
    expect((await chain.importBlock(ok[0]!)).status).toBe("side");
    expect((await chain.importBlock(ok[1]!)).status).toMatch(/side|head/);
    expect((await chain.importBlock(ok[2]!)).status).toBe("head");
    expect(chain.head.hashHex).toBe(ok[2]!.hashHex);
  });

  it("consults the signature cache it was given, so that verified signatures are not checked twice", async () => {
    const signatures = new SignatureCache();
    const { chain, model } = await setup({ signatures });
    const txs = [tx(alice, 0, { to: bob }), tx(alice, 1, { to: carol })];
    // The first one verified before (by admission), the second one not.
    signatures.markVerified(txs[0]!);
    const [b1] = model.extend(model.genesisBlock, 1, () => txs);
    expect(await chain.importBlock(b1!)).toEqual({ status: "head" });
    expect(signatures.counts.verified).toBe(1);
    expect(signatures.isVerified(txs[1]!)).toBe(true);
    expect(chain.signatures).toBe(signatures);
  });

  it("refuses a forged signature the cache does not know, with its code", async () => {
    const { chain, model } = await setup();
    const good = tx(alice, 0, { to: bob });
    const signature = Uint8Array.from(good.signature);
    signature[0]! ^= 1;
    const forged = makeTransaction(good, signature);
    const [b1] = model.extend(model.genesisBlock, 1, () => [forged]);
    expect(await rejectionCode(chain.importBlock(b1!))).toBe("InvalidSignature");
    expect(chain.head.height).toBe(0);
  });

  it("survives a throwing event listener", async () => {
    const { chain, model } = await setup();
    chain.on("head", () => {
      throw new Error("listener bug");
    });
    const [b1] = model.extend(model.genesisBlock, 1);
    expect(await chain.importBlock(b1!)).toEqual({ status: "head" });
  });
});

function makeTransactionFor(chainId: string): Transaction {
  const base = tx(alice, 1, { to: bob });
  return makeTransaction({ ...base, chainId }, base.signature);
}

describe("Chain: orphans", () => {
  it("holds blocks until their parent arrives, then connects them in order", async () => {
    const { chain, model } = await setup();
    const heads: number[] = [];
    chain.on("head", (e) => heads.push(e.head.header.height));
    const [b1, b2, b3] = model.extend(model.genesisBlock, 3, (i) => [tx(alice, i, { to: bob })]);
    expect(await chain.importBlock(b3!)).toEqual({ status: "orphan", missingParent: b2!.hashHex });
    expect(await chain.importBlock(b2!)).toEqual({ status: "orphan", missingParent: b1!.hashHex });
    expect(await chain.importBlock(b3!)).toEqual({ status: "orphan", missingParent: b1!.hashHex });
    expect(chain.hasBlock(b3!.hashHex)).toBe(true);
    expect(chain.head.height).toBe(0);
    expect(await chain.importBlock(b1!)).toEqual({ status: "head" });
    expect(chain.head.hashHex).toBe(b3!.hashHex);
    expect(heads).toEqual([1, 2, 3]);
    expect(chain.orphanCount).toBe(0);
    expectStateOf(chain, model, b3!);
  });

  it("drops pooled descendants of a block that turns out invalid", async () => {
    const { chain, model } = await setup();
    const [b1] = model.extend(model.genesisBlock, 1);
    const bad = model.child(b1!, [tx(bob, 3, { to: alice })], { invalid: true });
    const child = model.child(bad, []);
    expect((await chain.importBlock(child)).status).toBe("orphan");
    expect((await chain.importBlock(bad)).status).toBe("orphan");
    expect(chain.orphanCount).toBe(2);
    expect(await chain.importBlock(b1!)).toEqual({ status: "head" });
    expect(chain.orphanCount).toBe(0);
    expect(chain.head.hashHex).toBe(b1!.hashHex);
    expect(chain.hasBlock(bad.hashHex)).toBe(false);
  });

  it("bounds the pool, evicting the oldest", async () => {
    const genesis = testGenesis("pos");
    const { model, chain } = await chains.open(genesis, {
      orphanLimits: { maxBlocks: 2, maxBytes: 1 << 20 },
    });
    const blocks = model.extend(model.genesisBlock, 5);
    for (const b of blocks.slice(1).reverse()) await chain.importBlock(b);
    expect(chain.orphanCount).toBe(2);
    // The two newest arrivals (heights 3 and 2) stayed; 5 and 4 were evicted.
    expect(chain.hasBlock(blocks[4]!.hashHex)).toBe(false);
    await chain.importBlock(blocks[0]!);
    expect(chain.head.height).toBe(3);
  });
});

describe("Chain: restart", () => {
  it("recovers head and state from the store, and goes on", async () => {
    const { chain, model, dir, genesis } = await setup();
    const { blocks, txs } = storyBlocks(model);
    for (const b of blocks.slice(0, 3)) await chain.importBlock(b);
    await chain.close();
    const reopened = await openChain(dir, genesis);
    chains.defer(() => reopened.close());
    expect(reopened.head.hashHex).toBe(blocks[2]!.hashHex);
    expect(reopened.head.score).toBe(3n);
    expectStateOf(reopened, model, blocks[2]!);
    expect((await reopened.getTransaction(txs[2]![1]!.id))?.height).toBe(3);
    expect(reopened.validators().total).toBe(150n);
    expect(await reopened.importBlock(blocks[3]!)).toEqual({ status: "head" });
    expectStateOf(reopened, model, blocks[3]!);
    await reopened.close();
    const report = await checkStoreByReplay(dir, genesis);
    expect(report).toMatchObject({ height: 4, headHash: blocks[3]!.hashHex, mainTransactions: 7 });
  });

  it("refuses a store made with another genesis, naming both", async () => {
    const { chain, dir, genesis } = await setup();
    await chain.close();
    const other = testGenesis("pos", { finalityDepth: 9 });
    const otherHash = new BlockTreeModel(other).genesisBlock.hashHex;
    const error = await openChain(dir, other).catch((e: unknown) => e);
    expect(isValidationError(error) && error.code).toBe("GenesisMismatch");
    expect((error as Error).message).toContain(chain.genesisHash);
    expect((error as Error).message).toContain(otherHash);
    // The refusal closed the store: the right genesis still opens it.
    const again = await openChain(dir, genesis);
    await again.close();
  });
});

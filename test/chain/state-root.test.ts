import { describe, expect, it } from "vitest";
import { accountProofToJson, verifyAccountProof } from "../../src/core/account-proof.js";
import { toHex } from "../../src/core/bytes.js";
import { checkStoreByReplay } from "../crash/replay.js";
import { KEYS, rejectionCode, snapshot, testGenesis, tx } from "./chain-fixtures.js";
import { chainsPerTest } from "./open-chains.js";

const { alice, bob, carol } = KEYS;
const chains = chainsPerTest();

async function setup(finalityDepth = 4) {
  const genesis = testGenesis("pos", { finalityDepth });
  return chains.open(genesis);
}

describe("state roots in headers", () => {
  it("a block whose stateRoot is not the state it leads to is refused, and nothing changes", async () => {
    const { model, chain } = await setup();
    const [b1] = model.extend(model.genesisBlock, 1);
    await chain.importBlock(b1!);
    const body = [tx(alice, 0, { to: bob, amount: 7n })];
    const lie = model.child(b1!, body, { stateRoot: new Uint8Array(32).fill(1), invalid: true });
    const before = snapshot(chain);
    expect(await rejectionCode(chain.importBlock(lie))).toBe("BadStateRoot");
    expect(snapshot(chain)).toEqual(before);
    expect(chain.hasBlock(lie.hashHex)).toBe(false);
    // The honest block with the same body and the right root goes in.
    const honest = model.child(b1!, body);
    expect((await chain.importBlock(honest)).status).toBe("head");
    expect(toHex(chain.head.header.stateRoot)).toBe(toHex(honest.header.stateRoot));
  });

  it("a side branch with a wrong root fails when it would become the best, and stays invalid", async () => {
    const { model, chain } = await setup();
    const [a1, a2] = model.extend(model.genesisBlock, 2);
    for (const b of [a1!, a2!]) await chain.importBlock(b);
    // A branch from a1 that is longer, but whose first block lies about its state.
    const bad = model.child(a1!, [tx(alice, 0, { to: carol })], {
      minSlot: 40,
      stateRoot: new Uint8Array(32).fill(2),
    });
    const [c1, c2] = model.extend(bad, 2, () => [], { minSlot: 50 });
    // Stored beside a2 (same height, later slot): its state is not looked at yet.
    expect((await chain.importBlock(bad)).status).toBe("side");
    // c1 makes the branch the longest: connecting it finds the lie, and the branch is dead.
    expect(await rejectionCode(chain.importBlock(c1!))).toBe("BadStateRoot");
    expect(await rejectionCode(chain.importBlock(c2!))).toBe("KnownInvalid");
    expect(chain.head.hashHex).toBe(a2!.hashHex);
  });

  it("serves account proofs a client checks against the header alone, absence included", async () => {
    const { model, chain } = await setup();
    const blocks = model.extend(model.genesisBlock, 3, (i) => [
      tx(alice, i, { to: bob, amount: BigInt(10 + i) }),
    ]);
    for (const b of blocks) await chain.importBlock(b);
    const head = blocks[2]!;
    const found = (await chain.accountProof(bob.address, "head"))!;
    expect(found.blockHash).toBe(head.hashHex);
    const json = JSON.parse(JSON.stringify(accountProofToJson(found.key, found.proof)));
    const proven = verifyAccountProof(head.header.stateRoot, bob.address, json);
    expect(proven).toEqual(model.stateAfter(head).get(bob.address));
    // Against another block's root the same proof fails; for another address too.
    expect(() => verifyAccountProof(blocks[0]!.header.stateRoot, bob.address, json)).toThrow(
      /proof/,
    );
    expect(() => verifyAccountProof(head.header.stateRoot, alice.address, json)).toThrow(
      /another address/,
    );
    // An account nobody touched: proven absent.
    const nobody = (await chain.accountProof(carol.address, head.header.height))!;
    expect(nobody.account).toBeUndefined();
    const absent = JSON.parse(JSON.stringify(accountProofToJson(nobody.key, nobody.proof)));
    expect(verifyAccountProof(head.header.stateRoot, carol.address, absent)).toBeUndefined();
    // Older blocks on the main chain keep their trees while they may still be reorganised.
    const older = (await chain.accountProof(bob.address, 1))!;
    expect(
      verifyAccountProof(
        blocks[0]!.header.stateRoot,
        bob.address,
        accountProofToJson(older.key, older.proof),
      ),
    ).toMatchObject({ balance: 1000n + 10n });
  });

  it("keeps the trees of the last finalityDepth blocks only: old nodes are pruned, as a replay says", async () => {
    const { genesis, model, chain, dir } = await setup(4);
    let parent = model.genesisBlock;
    for (let i = 0; i < 40; i++) {
      const [b] = model.extend(parent, 1, () => [
        tx(alice, i, { to: i % 2 ? bob : carol, amount: BigInt(i + 1) }),
      ]);
      await chain.importBlock(b!);
      parent = b!;
    }
    // A reorganisation inside the window works off the kept trees...
    const fork = model.stateAfter(parent) && (await chain.getBlock(chain.head.height - 2))!;
    const [x1, x2, x3] = model.extend(fork, 3, () => [], { minSlot: 10_000 });
    for (const b of [x1!, x2!, x3!]) await chain.importBlock(b);
    expect(chain.head.hashHex).toBe(x3!.hashHex);
    // ...and below the window there is no tree to prove against.
    expect(await chain.accountProof(bob.address, 5)).toBeUndefined();
    await chain.close();
    // The replay rebuilds every kept tree and compares node for node (nothing extra, nothing
    // missing).
    const report = await checkStoreByReplay(dir, genesis);
    expect(report.headHash).toBe(x3!.hashHex);
  });
});

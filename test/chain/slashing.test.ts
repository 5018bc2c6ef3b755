import { describe, expect, it } from "vitest";
import type { SlashingEvent } from "../../src/chain/chain-events.js";
import type { Block } from "../../src/core/block.js";
import type { Evidence } from "../../src/core/evidence.js";
import { genesisSupply } from "../../src/core/genesis.js";
import type { KeyPair } from "../../src/core/keys.js";
import { checkStoreByReplay } from "../crash/replay.js";
import { type BlockTreeModel, KEYS, rejectionCode, testGenesis, tx } from "./chain-fixtures.js";
import { chainsPerTest } from "./open-chains.js";

const { forger, carol, alice } = KEYS;
const chains = chainsPerTest();

const slotOf = (b: Block) => (b.header.seal as { slot: number }).slot;

/** Two validators: forger (100) and carol (300), and a chain that records its events. */
async function setup() {
  const genesis = testGenesis("pos", {
    validators: { [carol.address]: "300" },
    blockReward: 0,
    finalityDepth: 8,
  });
  const { model, dir, chain } = await chains.open(genesis);
  const evidence: Evidence[] = [];
  const slashings: SlashingEvent[] = [];
  chain.on("evidence", (e) => evidence.push(e));
  chain.on("slashing", (e) => slashings.push(e));
  return { genesis, model, dir, chain, evidence, slashings };
}

function slotWonBy(model: BlockTreeModel, parent: Block, key: KeyPair, from: number): number {
  for (let slot = from; ; slot++) if (model.winner(parent, slot) === key.address) return slot;
}

describe("equivocation is evidence, and evidence is punished", () => {
  it("two blocks of one forger for one slot become evidence; a block including it slashes the forger on the chain", async () => {
    const { genesis, model, dir, chain, evidence, slashings } = await setup();
    // The forger gets 10 to pay its fees with.
    const p = model.child(model.genesisBlock, [tx(alice, 0, { to: forger, amount: 10n })], {
      minSlot: 1,
    });
    await chain.importBlock(p);
    // The forger unstakes 40 of its 100: unbonding, so still slashable.
    const slot1 = slotWonBy(model, p, forger, slotOf(p) + 1);
    const unstake = model.child(p, [tx(forger, 0, { type: "UNSTAKE", amount: 40n })], {
      minSlot: slot1,
    });
    expect((await chain.importBlock(unstake)).status).toBe("head");
    expect(chain.getAccount(forger.address)).toMatchObject({
      stake: 60n,
      unbonding: [{ amount: 40n }],
    });
    // Then it signs two different blocks for one slot it wins.
    const slot2 = slotWonBy(model, unstake, forger, slotOf(unstake) + 1);
    const a = model.child(unstake, [tx(alice, 1, { to: carol })], { minSlot: slot2 });
    const b = model.child(unstake, [tx(alice, 1, { to: forger })], { minSlot: slot2 });
    expect(slotOf(a)).toBe(slotOf(b));
    await chain.importBlock(a);
    expect(evidence).toHaveLength(0);
    await chain.importBlock(b);
    expect(evidence).toHaveLength(1);
    const proof = evidence[0]!;
    expect(proof).toMatchObject({ offender: forger.address, slot: slot2 });
    expect(new Set(proof.headers.map((h) => h.hashHex))).toEqual(new Set([a.hashHex, b.hashHex]));

    // Carol includes it in her next block: the forger loses its stake, bonded and unbonding.
    const tip = chain.head.hashHex === a.hashHex ? a : b;
    const supplyBefore = chain.totalSupply();
    const slot3 = slotWonBy(model, tip, carol, slotOf(tip) + 1);
    const punishing = model.child(tip, [], { minSlot: slot3, evidence: [proof] });
    expect((await chain.importBlock(punishing)).status).toBe("head");
    expect(chain.getAccount(forger.address)).toEqual({
      balance: expect.any(BigInt),
      stake: 0n,
      nonce: 1,
      slashedSlot: slot2,
    });
    expect(slashings).toHaveLength(1);
    expect(slashings[0]!.slashing).toMatchObject({
      offender: forger.address,
      amount: 100n,
      reporter: carol.address,
      reward: 10n,
      burned: 90n,
    });
    expect(chain.slashedAddresses().has(forger.address)).toBe(true);
    expect(chain.validators().entries.map((v) => v.address)).toEqual([carol.address]);
    // Supply: 90 fewer, exactly, and the chain's counters say why.
    expect(chain.totalSupply()).toBe(supplyBefore - 90n);
    expect(chain.totalSupply()).toBe(genesisSupply(genesis) - 90n);

    // The same evidence never applies twice.
    const slot4 = slotWonBy(model, punishing, carol, slotOf(punishing) + 1);
    const again = model.child(punishing, [], { minSlot: slot4, evidence: [proof], invalid: true });
    expect(await rejectionCode(chain.importBlock(again))).toBe("AlreadySlashed");
    expect(chain.head.hashHex).toBe(punishing.hashHex);

    await chain.close();
    // The store equals a replay of its main chain, burned counter and all.
    expect(await checkStoreByReplay(dir, genesis)).toMatchObject({ headHash: punishing.hashHex });
  });

  it("a block whose evidence is not signed by the offender, or whose root does not commit to it, is refused before storage", async () => {
    const { model, chain } = await setup();
    const p = model.child(model.genesisBlock, [], { minSlot: 1 });
    await chain.importBlock(p);
    const slot = slotWonBy(model, p, forger, slotOf(p) + 1);
    const a = model.child(p, [tx(alice, 0, { to: carol })], { minSlot: slot });
    const b = model.child(p, [tx(alice, 0, { to: forger })], { minSlot: slot });
    const { makeEvidence } = await import("../../src/core/evidence.js");
    const forged = makeEvidence(a, { ...b, signature: a.signature });
    const next = slotWonBy(model, a, carol, slot + 1);
    const bad = model.child(a, [], { minSlot: next, evidence: [forged], invalid: true });
    await chain.importBlock(a);
    expect(await rejectionCode(chain.importBlock(bad))).toBe("InvalidEvidence");
    expect(chain.hasBlock(bad.hashHex)).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import type { Chain } from "../../src/chain/chain.js";
import { isBetter } from "../../src/chain/fork-choice.js";
import { slotStart } from "../../src/consensus/index.js";
import type { Block } from "../../src/core/block.js";
import type { KeyPair } from "../../src/core/keys.js";
import { type BlockTreeModel, GENESIS_TIME, KEYS, testGenesis, tx } from "./chain-fixtures.js";
import { chainsPerTest } from "./open-chains.js";

const { forger, carol, alice } = KEYS;
const SLOT_MS = 1000;
const chains = chainsPerTest();

const slotOf = (b: Block) => (b.header.seal as { slot: number }).slot;
const clock = { genesisTimestamp: GENESIS_TIME, slotMs: SLOT_MS };

/** A chain whose clock the test sets, and two validators of equal stake. */
async function setup() {
  const genesis = testGenesis("pos", { validators: { [carol.address]: "100" } });
  const time = { now: GENESIS_TIME };
  const { model, chain } = await chains.open(genesis, { now: () => time.now });
  return { model, chain, time };
}

/** The first slot from `from` on that `key` wins on `parent`. */
function slotWonBy(model: BlockTreeModel, parent: Block, key: KeyPair, from: number): number {
  for (let slot = from; ; slot++) if (model.winner(parent, slot) === key.address) return slot;
}

/** Imports `block` with the clock at `ms` after its slot's start. */
async function arrive(chain: Chain, time: { now: number }, block: Block, ms = 100) {
  time.now = slotStart(clock, slotOf(block))! + ms;
  return (await chain.importBlock(block)).status;
}

describe("fork choice at equal length", () => {
  it("the earlier slot wins, then the lower hash (the rule itself)", () => {
    expect(
      isBetter({ score: 5n, hashHex: "ff", slot: 3 }, { score: 5n, hashHex: "00", slot: 4 }),
    ).toBe(true);
    expect(
      isBetter({ score: 5n, hashHex: "00", slot: 4 }, { score: 5n, hashHex: "ff", slot: 3 }),
    ).toBe(false);
    expect(
      isBetter({ score: 5n, hashHex: "00", slot: 3 }, { score: 5n, hashHex: "ff", slot: 3 }),
    ).toBe(true);
    expect(
      isBetter({ score: 6n, hashHex: "ff", slot: 9 }, { score: 5n, hashHex: "00", slot: 3 }),
    ).toBe(true);
  });

  it("a later slot's winner that grinds its hash beside an honest block never orphans it", async () => {
    const { model, chain, time } = await setup();
    const parent = model.child(model.genesisBlock, [], { minSlot: 1 });
    expect(await arrive(chain, time, parent)).toBe("head");
    // The honest block: the first slot carol wins after the parent.
    const honest = model.child(parent, [], {
      minSlot: slotWonBy(model, parent, carol, slotOf(parent) + 1),
    });
    expect(await arrive(chain, time, honest)).toBe("head");
    // The attacker wins a later slot on the same parent and grinds: every transaction set it
    // may choose gives another hash; half of them are lower than the honest block's.
    const attackSlot = slotWonBy(model, parent, forger, slotOf(honest) + 1);
    let lower = 0;
    for (let i = 0; i < 40; i++) {
      const variant = model.child(parent, [tx(alice, 0, { to: forger, amount: BigInt(i + 1) })], {
        minSlot: attackSlot,
      });
      expect(slotOf(variant)).toBe(attackSlot);
      if (variant.hashHex < honest.hashHex) lower++;
      // Sent in its own slot, on time: stored beside the head, never the head.
      const status = await arrive(chain, time, variant, 50);
      expect(["side", "known"]).toContain(status);
      expect(chain.head.hashHex).toBe(honest.hashHex);
    }
    // Under a lower-hash-first rule these would have orphaned the honest block.
    expect(lower).toBeGreaterThan(5);
  });

  it("a block that arrives after its slot never displaces an equal head, however it ranks", async () => {
    const { model, chain, time } = await setup();
    const parent = model.child(model.genesisBlock, [], { minSlot: 1 });
    await arrive(chain, time, parent);
    const early = slotWonBy(model, parent, carol, slotOf(parent) + 1);
    const later = slotWonBy(model, parent, forger, early + 1);
    const withheld = model.child(parent, [], { minSlot: early });
    const head = model.child(parent, [], { minSlot: later });
    expect(await arrive(chain, time, head)).toBe("head");
    // The earlier slot's block shows up once its slot is over (withheld, or sent late on
    // purpose): it would win by slot, but it is late, so the head stays.
    time.now = slotStart(clock, slotOf(withheld) + 1)! + SLOT_MS;
    expect((await chain.importBlock(withheld)).status).toBe("side");
    expect(chain.head.hashHex).toBe(head.hashHex);
    // A child of the late block makes its branch longer: longest chain wins, late or not.
    const child = model.child(withheld, [], { minSlot: later + 1 });
    expect(await arrive(chain, time, child)).toBe("head");
    expect(chain.head.hashHex).toBe(child.hashHex);
  });

  it("an earlier-slot block that arrives within its slot (plus the drift) does take the head", async () => {
    const { model, chain, time } = await setup();
    const parent = model.child(model.genesisBlock, [], { minSlot: 1 });
    await arrive(chain, time, parent);
    const early = slotWonBy(model, parent, carol, slotOf(parent) + 1);
    const later = slotWonBy(model, parent, forger, early + 1);
    const first = model.child(parent, [], { minSlot: early });
    const second = model.child(parent, [], { minSlot: later });
    // The later one arrives first (its forger published at the edge of the allowed drift)...
    time.now = slotStart(clock, later)! - 400;
    expect((await chain.importBlock(second)).status).toBe("head");
    // ...then the earlier one, still on time: it wins by slot.
    time.now = Math.min(time.now + 10, slotStart(clock, early + 1)! + 400);
    expect((await chain.importBlock(first)).status).toBe("head");
    expect(chain.head.hashHex).toBe(first.hashHex);
  });
});

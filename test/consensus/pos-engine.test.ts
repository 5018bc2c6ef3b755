import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { VerifyContext } from "../../src/consensus/engine.js";
import { createEngine } from "../../src/consensus/index.js";
import { PosEngine, slotWinner } from "../../src/consensus/pos/engine.js";
import { signRandomness } from "../../src/consensus/pos/randomness.js";
import { POS_CLOCK_DRIFT_MS, slotOf, slotStart } from "../../src/consensus/pos/slots.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { type Block, sealBlock } from "../../src/core/block.js";
import { isValidationError, type RejectCode } from "../../src/core/errors.js";
import { genesisBlock } from "../../src/core/genesis.js";
import type { KeyPair } from "../../src/core/keys.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { forgePosBlock, GENESIS_TIME, headerReader, posGenesis } from "./helpers.js";

const SLOT_MS = 1000;
const alice = testKey(1);
const bob = testKey(2);
const genesis = posGenesis(
  [
    [alice, 1n],
    [bob, 3n],
  ],
  { slotMs: SLOT_MS },
);
const engine = new PosEngine(genesis);
const validators = buildValidatorSet(genesis.validators);
const g = genesisBlock(genesis);
const keyOf = (address: string): KeyPair => (address === alice.address ? alice : bob);
const other = (key: KeyPair): KeyPair => (key === alice ? bob : alice);

function ctx(now: number): VerifyContext {
  return { validators, headers: headerReader([g]), now };
}

function rejection(f: () => void): RejectCode | undefined {
  try {
    f();
  } catch (e) {
    if (isValidationError(e)) return e.code;
    throw e;
  }
  return undefined;
}

/** The first slot from `from` whose winner on `parent` is `key` (or is not, when `won` is false). */
function slotWonBy(parent: Block, key: KeyPair, from = parent.header.height + 1, won = true) {
  for (let slot = from; ; slot++)
    if ((slotWinner(validators, parent.header, slot) === key.address) === won) return slot;
}

describe("slots", () => {
  const clock = engine.clock;
  it("cuts time into slots of slotMs from the genesis timestamp", () => {
    expect(slotOf(clock, GENESIS_TIME)).toBe(0);
    expect(slotOf(clock, GENESIS_TIME + SLOT_MS - 1)).toBe(0);
    expect(slotOf(clock, GENESIS_TIME + SLOT_MS)).toBe(1);
    expect(slotOf(clock, GENESIS_TIME - 1)).toBe(-1);
    expect(slotStart(clock, 7)).toBe(GENESIS_TIME + 7 * SLOT_MS);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (t) => {
        const slot = slotOf(clock, GENESIS_TIME + t);
        const start = slotStart(clock, slot)!;
        expect(start <= GENESIS_TIME + t && GENESIS_TIME + t < start + SLOT_MS).toBe(true);
      }),
    );
  });
});

describe("PosEngine.verifyHeader", () => {
  let slot: number;
  let block: Block;
  beforeAll(() => {
    slot = slotWonBy(g, bob);
    block = forgePosBlock(g, bob, slot, SLOT_MS);
  });
  const startOf = (s: number) => GENESIS_TIME + s * SLOT_MS;

  it("accepts the slot's winner, at the slot's start, with its randomness", () => {
    expect(createEngine(genesis).type).toBe("pos");
    expect(() => engine.verifySealStateless(block)).not.toThrow();
    expect(() => engine.verifyHeader(block.header, g.header, ctx(startOf(slot)))).not.toThrow();
  });

  it("rejects a block by a validator that did not win the slot (WrongForger)", () => {
    const loser = forgePosBlock(g, other(bob), slot, SLOT_MS);
    expect(rejection(() => engine.verifyHeader(loser.header, g.header, ctx(startOf(slot))))).toBe(
      "WrongForger",
    );
  });

  it("rejects a key that holds no stake at all (WrongForger)", () => {
    const outsider = forgePosBlock(g, testKey(9), slot, SLOT_MS);
    expect(
      rejection(() => engine.verifyHeader(outsider.header, g.header, ctx(startOf(slot)))),
    ).toBe("WrongForger");
  });

  it("rejects a slot that is not after the parent's (SlotNotAfterParent)", () => {
    for (const childSlot of [slot, slot - 1]) {
      if (childSlot <= 0) continue;
      const winner = keyOf(slotWinner(validators, block.header, childSlot));
      const child = forgePosBlock(block, winner, childSlot, SLOT_MS);
      const code = rejection(() =>
        engine.verifyHeader(child.header, block.header, ctx(startOf(slot + 5))),
      );
      expect(code).toBe("SlotNotAfterParent");
    }
  });

  it("rejects a slot that has not begun, beyond the clock drift (FutureBlock)", () => {
    const start = startOf(slot);
    expect(
      rejection(() => engine.verifyHeader(block.header, g.header, ctx(start - POS_CLOCK_DRIFT_MS))),
    ).toBeUndefined();
    expect(
      rejection(() =>
        engine.verifyHeader(block.header, g.header, ctx(start - POS_CLOCK_DRIFT_MS - 1)),
      ),
    ).toBe("FutureBlock");
    expect(engine.clockDriftMs).toBe(POS_CLOCK_DRIFT_MS);
  });

  it("rejects a timestamp other than the slot's start (BadTimestamp)", () => {
    for (const delta of [1, -1, SLOT_MS]) {
      const shifted = forgePosBlock(g, bob, slot, SLOT_MS, { timestamp: startOf(slot) + delta });
      expect(
        rejection(() => engine.verifyHeader(shifted.header, g.header, ctx(startOf(slot + 2)))),
      ).toBe("BadTimestamp");
    }
  });

  it("rejects randomness that is not the forger's signature of (slot, parent) (BadRandomness)", () => {
    if (g.header.seal.type !== "pos") throw new Error("not PoS");
    const parentRandomness = g.header.seal.randomness;
    const wrong = [
      signRandomness(genesis.chainId, slot + 1, parentRandomness, bob.privateKey),
      signRandomness(genesis.chainId, slot, new Uint8Array(32), bob.privateKey),
      signRandomness("another-chain", slot, parentRandomness, bob.privateKey),
      signRandomness(genesis.chainId, slot, parentRandomness, alice.privateKey),
      new Uint8Array(64).fill(1),
    ];
    for (const randomness of wrong) {
      const forged = forgePosBlock(g, bob, slot, SLOT_MS, { randomness });
      expect(
        rejection(() => engine.verifyHeader(forged.header, g.header, ctx(startOf(slot)))),
      ).toBe("BadRandomness");
    }
    const short = forgePosBlock(g, bob, slot, SLOT_MS, { randomness: new Uint8Array(32) });
    expect(rejection(() => engine.verifySealStateless(short))).toBe("BadRandomness");
  });

  it("rejects a PoW seal on a PoS chain (WrongConsensus)", () => {
    const pow = sealBlock(
      { ...block.header, seal: { type: "pow", target: 1n << 255n, nonce: 0n } },
      [],
      bob.privateKey,
    );
    expect(rejection(() => engine.verifySealStateless(pow))).toBe("WrongConsensus");
    expect(rejection(() => engine.verifyHeader(pow.header, g.header, ctx(startOf(slot))))).toBe(
      "WrongConsensus",
    );
  });

  it("scores the longest chain: every block adds 1", () => {
    expect(engine.score(block.header, 5n)).toBe(6n);
    expect(engine.finalityDepth).toBe(10);
  });
});

describe("an offline winner", () => {
  it("leaves its slot empty; the next slot's winner forges on the same parent", () => {
    const missed = slotWonBy(g, alice);
    const next = slotWonBy(g, bob, missed + 1);
    const block = forgePosBlock(g, bob, next, SLOT_MS);
    expect(next).toBeGreaterThan(missed);
    const now = GENESIS_TIME + next * SLOT_MS;
    expect(() => engine.verifyHeader(block.header, g.header, ctx(now))).not.toThrow();
  });
});

describe("grinding resistance: a block's contents do not steer the next draw", () => {
  const sender = testKey(5);
  const pool = Array.from({ length: 8 }, (_, nonce) =>
    makeTx(sender, { nonce, to: alice.address, amount: BigInt(nonce + 1) }),
  );

  it("the next slot's winner is the same whatever transactions the forger chose", () => {
    const slot = slotWonBy(g, bob);
    fc.assert(
      fc.property(
        fc.subarray(pool),
        fc.subarray(pool),
        fc.integer({ min: 1, max: 50 }),
        (txsA, txsB, ahead) => {
          const a = forgePosBlock(g, bob, slot, SLOT_MS, { transactions: txsA });
          const b = forgePosBlock(g, bob, slot, SLOT_MS, { transactions: txsB });
          if (txsA.length !== txsB.length || txsA.some((tx, i) => tx !== txsB[i]))
            expect(a.hashHex).not.toBe(b.hashHex);
          const nextSlot = slot + ahead;
          expect(slotWinner(validators, a.header, nextSlot)).toBe(
            slotWinner(validators, b.header, nextSlot),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});

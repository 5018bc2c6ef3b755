import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { EpochLink, EpochLottery, VerifyContext } from "../../src/consensus/engine.js";
import { createEngine } from "../../src/consensus/index.js";
import { PosEngine, slotWinner } from "../../src/consensus/pos/engine.js";
import { epochOf, sameEpochLink } from "../../src/consensus/pos/epochs.js";
import { proveRandomness } from "../../src/consensus/pos/randomness.js";
import {
  POS_CLOCK_DRIFT_MS,
  posClockDriftMs,
  slotOf,
  slotStart,
} from "../../src/consensus/pos/slots.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { type Block, sealBlock } from "../../src/core/block.js";
import { toHex } from "../../src/core/bytes.js";
import { isValidationError, type RejectCode } from "../../src/core/errors.js";
import { genesisBlock, POS_DEFAULTS } from "../../src/core/genesis.js";
import { type KeyPair, privateKeySeed } from "../../src/core/keys.js";
import { vrfSecretKey } from "../../src/core/vrf.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { forgePosBlock, GENESIS_TIME, headerReader, posGenesis } from "./helpers.js";

/** The epoch length of the test genesis files (the default). */
const EPOCH_SLOTS = POS_DEFAULTS.epochSlots;

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
const gLink = engine.genesisLink(g);
const other = (key: KeyPair): KeyPair => (key === alice ? bob : alice);
const vrfKey = (key: KeyPair) => vrfSecretKey(privateKeySeed(key.privateKey));

/** The lottery of a child of `parent` in `slot`; every snapshot here holds the genesis stakes. */
function lotteryOn(parent: Block, link: EpochLink, slot: number): EpochLottery {
  const epoch = engine.epochContext({ header: parent.header, hash: parent.hash, link }, slot);
  expect(toHex(epoch.snapshot)).toBe(g.hashHex);
  return { epoch, validators };
}

/** What the chain passes: the lottery of the block's slot (of the next one when it is too early). */
function ctx(block: Block, now: number, parent: Block = g, link: EpochLink = gLink): VerifyContext {
  const slot = Math.max(
    engine.productionSlot(block.header),
    engine.productionSlot(parent.header) + 1,
  );
  return { headers: headerReader([g, parent]), now, lottery: lotteryOn(parent, link, slot) };
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
function slotWonBy(parent: Block, link: EpochLink, key: KeyPair, from = 1, won = true) {
  for (let slot = Math.max(from, engine.productionSlot(parent.header) + 1); ; slot++) {
    const { epoch } = lotteryOn(parent, link, slot);
    if ((slotWinner(validators, epoch.nonce, slot) === key.address) === won) return slot;
  }
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

  it("allows a clock drift of at most half a slot", () => {
    expect(posClockDriftMs(1000)).toBe(POS_CLOCK_DRIFT_MS);
    expect(posClockDriftMs(100_000)).toBe(POS_CLOCK_DRIFT_MS);
    expect(posClockDriftMs(100)).toBe(50);
    expect(posClockDriftMs(25)).toBe(12);
    expect(new PosEngine(posGenesis([[alice, 1n]], { slotMs: 40 })).clockDriftMs).toBe(20);
  });
});

describe("PosEngine.verifyHeader", () => {
  let slot: number;
  let block: Block;
  beforeAll(() => {
    slot = slotWonBy(g, gLink, bob);
    block = forgePosBlock(g, gLink, bob, slot, SLOT_MS);
  });
  const startOf = (s: number) => GENESIS_TIME + s * SLOT_MS;

  it("accepts the slot's winner, at the slot's start, with its VRF proof; returns its link", () => {
    expect(createEngine(genesis).type).toBe("pos");
    expect(() => engine.verifySealStateless(block)).not.toThrow();
    const link = engine.verifyHeader(block.header, g.header, ctx(block, startOf(slot)));
    expect(toHex(link.nonce)).toBe(toHex(gLink.nonce));
    expect(toHex(link.snapshot)).toBe(g.hashHex);
    expect(toHex(link.accumulator)).not.toBe(toHex(gLink.accumulator));
  });

  it("rejects a block by a validator that did not win the slot (WrongForger)", () => {
    const loser = forgePosBlock(g, gLink, other(bob), slot, SLOT_MS);
    expect(
      rejection(() => engine.verifyHeader(loser.header, g.header, ctx(loser, startOf(slot)))),
    ).toBe("WrongForger");
  });

  it("rejects a key that holds no stake at all (WrongForger)", () => {
    const outsider = forgePosBlock(g, gLink, testKey(9), slot, SLOT_MS);
    expect(
      rejection(() => engine.verifyHeader(outsider.header, g.header, ctx(outsider, startOf(slot)))),
    ).toBe("WrongForger");
  });

  it("rejects a slot that is not after the parent's (SlotNotAfterParent)", () => {
    const link = engine.verifyHeader(block.header, g.header, ctx(block, startOf(slot)));
    for (const childSlot of [slot, slot - 1]) {
      if (childSlot <= 0) continue;
      const child = forgePosBlock(block, link, bob, childSlot, SLOT_MS);
      const code = rejection(() =>
        engine.verifyHeader(child.header, block.header, ctx(child, startOf(slot + 5), block, link)),
      );
      expect(code).toBe("SlotNotAfterParent");
      expect(
        rejection(() =>
          engine.epochContext({ header: block.header, hash: block.hash, link }, childSlot),
        ),
      ).toBe("SlotNotAfterParent");
    }
  });

  it("rejects a slot that has not begun, beyond the clock drift (FutureBlock)", () => {
    const start = startOf(slot);
    expect(engine.clockDriftMs).toBe(POS_CLOCK_DRIFT_MS);
    expect(
      rejection(() =>
        engine.verifyHeader(block.header, g.header, ctx(block, start - POS_CLOCK_DRIFT_MS)),
      ),
    ).toBeUndefined();
    expect(
      rejection(() =>
        engine.verifyHeader(block.header, g.header, ctx(block, start - POS_CLOCK_DRIFT_MS - 1)),
      ),
    ).toBe("FutureBlock");
  });

  it("with short slots, refuses a slot that has not begun: the drift is half a slot", () => {
    const shortGenesis = posGenesis([[alice, 1n]], { slotMs: 40 });
    const short = new PosEngine(shortGenesis);
    const sg = genesisBlock(shortGenesis);
    const sgLink = short.genesisLink(sg);
    const b = forgePosBlock(sg, sgLink, alice, 5, 40);
    const at = (now: number): VerifyContext => ({
      headers: headerReader([sg]),
      now,
      lottery: {
        epoch: short.epochContext({ header: sg.header, hash: sg.hash, link: sgLink }, 5),
        validators: buildValidatorSet(shortGenesis.validators),
      },
    });
    const start = GENESIS_TIME + 5 * 40;
    expect(rejection(() => short.verifyHeader(b.header, sg.header, at(start - 20)))).toBe(
      undefined,
    );
    // A whole slot early (the previous slot just began) is refused, as is anything before.
    expect(rejection(() => short.verifyHeader(b.header, sg.header, at(start - 21)))).toBe(
      "FutureBlock",
    );
    expect(rejection(() => short.verifyHeader(b.header, sg.header, at(start - 40)))).toBe(
      "FutureBlock",
    );
  });

  it("rejects a timestamp other than the slot's start (BadTimestamp)", () => {
    for (const delta of [1, -1, SLOT_MS]) {
      const shifted = forgePosBlock(g, gLink, bob, slot, SLOT_MS, {
        timestamp: startOf(slot) + delta,
      });
      expect(
        rejection(() =>
          engine.verifyHeader(shifted.header, g.header, ctx(shifted, startOf(slot + 2))),
        ),
      ).toBe("BadTimestamp");
    }
  });

  it("rejects randomness that is not the forger's VRF proof of (slot, epoch nonce) (BadRandomness)", () => {
    const nonce = lotteryOn(g, gLink, slot).epoch.nonce;
    const wrong = [
      proveRandomness(genesis.chainId, slot + 1, nonce, vrfKey(bob)),
      proveRandomness(genesis.chainId, slot, new Uint8Array(32), vrfKey(bob)),
      proveRandomness("another-chain", slot, nonce, vrfKey(bob)),
      proveRandomness(genesis.chainId, slot, nonce, vrfKey(alice)),
      new Uint8Array(80).fill(1),
      new Uint8Array(80),
    ];
    for (const randomness of wrong) {
      const forged = forgePosBlock(g, gLink, bob, slot, SLOT_MS, { randomness });
      expect(
        rejection(() => engine.verifyHeader(forged.header, g.header, ctx(forged, startOf(slot)))),
      ).toBe("BadRandomness");
    }
    for (const length of [32, 64, 81]) {
      const short = forgePosBlock(g, gLink, bob, slot, SLOT_MS, {
        randomness: new Uint8Array(length),
      });
      expect(rejection(() => engine.verifySealStateless(short))).toBe("BadRandomness");
    }
  });

  it("rejects a PoW seal on a PoS chain (WrongConsensus)", () => {
    const pow = sealBlock(
      { ...block.header, seal: { type: "pow", target: 1n << 255n, nonce: 0n } },
      [],
      bob.privateKey,
    );
    expect(rejection(() => engine.verifySealStateless(pow))).toBe("WrongConsensus");
    expect(
      rejection(() =>
        engine.verifyHeader(pow.header, g.header, {
          headers: headerReader([g]),
          now: startOf(slot),
          lottery: lotteryOn(g, gLink, slot),
        }),
      ),
    ).toBe("WrongConsensus");
  });

  it("scores the longest chain: every block adds 1", () => {
    expect(engine.score(block.header, 5n)).toBe(6n);
    expect(engine.finalityDepth).toBe(10);
  });
});

describe("an offline winner", () => {
  it("leaves its slot empty; the next slot's winner forges on the same parent", () => {
    const missed = slotWonBy(g, gLink, alice);
    const next = slotWonBy(g, gLink, bob, missed + 1);
    const block = forgePosBlock(g, gLink, bob, next, SLOT_MS);
    expect(next).toBeGreaterThan(missed);
    const now = GENESIS_TIME + next * SLOT_MS;
    expect(() => engine.verifyHeader(block.header, g.header, ctx(block, now))).not.toThrow();
  });
});

describe("epochs: what a child's lottery derives from its parent", () => {
  it("keeps the nonce and snapshot within an epoch and moves them at the next", () => {
    const slot = slotWonBy(g, gLink, bob, 1);
    const block = forgePosBlock(g, gLink, bob, slot, SLOT_MS);
    const link = engine.verifyHeader(block.header, g.header, ctx(block, GENESIS_TIME + 1e9));
    const linked = { header: block.header, hash: block.hash, link };
    const epoch = epochOf(slot, EPOCH_SLOTS);
    const sameEpoch = (epoch + 1) * EPOCH_SLOTS - 1;
    if (sameEpoch > slot) {
      const inside = engine.epochContext(linked, sameEpoch);
      expect(inside.startsEpoch).toBe(false);
      expect(toHex(inside.nonce)).toBe(toHex(link.nonce));
      expect(toHex(inside.accumulator)).toBe(toHex(link.accumulator));
    }
    const next = engine.epochContext(linked, (epoch + 1) * EPOCH_SLOTS);
    const later = engine.epochContext(linked, (epoch + 5) * EPOCH_SLOTS + 3);
    for (const c of [next, later]) {
      expect(c.startsEpoch).toBe(true);
      expect(toHex(c.lastBeforeEpoch)).toBe(block.hashHex);
      // The snapshot is the last block before the parent's epoch (here the genesis block).
      expect(toHex(c.snapshot)).toBe(toHex(link.lastBeforeEpoch));
      expect(toHex(c.accumulator)).toBe(toHex(new Uint8Array(32)));
    }
    expect(toHex(next.nonce)).not.toBe(toHex(later.nonce));
    expect(toHex(next.nonce)).not.toBe(toHex(link.nonce));
  });
});

describe("grinding resistance: a block's contents do not steer later draws", () => {
  const sender = testKey(5);
  const pool = [
    ...Array.from({ length: 6 }, (_, nonce) =>
      makeTx(sender, { nonce, to: alice.address, amount: BigInt(nonce + 1) }),
    ),
    makeTx(bob, { nonce: 0, type: "STAKE", to: bob.address, amount: 1000n }),
    makeTx(bob, { nonce: 0, type: "UNSTAKE", to: bob.address, amount: 2n }),
  ];

  it("the block's link, and so every later lottery's nonce and snapshot, is the same whatever transactions it holds", () => {
    const slot = slotWonBy(g, gLink, bob);
    const now = GENESIS_TIME + 1e9;
    fc.assert(
      fc.property(
        fc.subarray(pool),
        fc.subarray(pool),
        fc.integer({ min: 1, max: 5 * EPOCH_SLOTS }),
        (txsA, txsB, ahead) => {
          const a = forgePosBlock(g, gLink, bob, slot, SLOT_MS, { transactions: txsA });
          const b = forgePosBlock(g, gLink, bob, slot, SLOT_MS, { transactions: txsB });
          if (txsA.length !== txsB.length || txsA.some((tx, i) => tx !== txsB[i]))
            expect(a.hashHex).not.toBe(b.hashHex);
          const linkA = engine.verifyHeader(a.header, g.header, ctx(a, now));
          const linkB = engine.verifyHeader(b.header, g.header, ctx(b, now));
          expect(sameEpochLink(linkA, linkB)).toBe(true);
          const nextSlot = slot + ahead;
          const ca = engine.epochContext({ header: a.header, hash: a.hash, link: linkA }, nextSlot);
          const cb = engine.epochContext({ header: b.header, hash: b.hash, link: linkB }, nextSlot);
          expect(toHex(ca.nonce)).toBe(toHex(cb.nonce));
          // The snapshot is never the block itself: its stakes count only after another epoch.
          expect(toHex(ca.snapshot)).toBe(toHex(cb.snapshot));
          expect(toHex(ca.snapshot)).not.toBe(a.hashHex);
        },
      ),
      { numRuns: 25 },
    );
  });
});

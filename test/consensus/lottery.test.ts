import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  drawLot,
  type LotteryCounter,
  lotHolderIndex,
  selectForger,
  uniformBelow,
} from "../../src/consensus/pos/lottery.js";
import { slotSeed } from "../../src/consensus/pos/randomness.js";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { encodeAddress } from "../../src/core/keys.js";

describe("uniformBelow: a point in [0, bound) with no modulo bias", () => {
  // With 8-bit words every word can be enumerated: each residue must come from exactly the same
  // number of accepted words, and every word at or above the limit must be redrawn.
  it("maps the accepted 8-bit words onto every residue equally, for every bound", () => {
    for (let bound = 1n; bound <= 256n; bound++) {
      const hits = new Map<bigint, number>();
      let rejected = 0;
      for (let word = 0n; word < 256n; word++) {
        const counter: LotteryCounter = { draws: 0, comparisons: 0 };
        // The first draw is `word`; a redraw gets 0, which is always accepted.
        const point = uniformBelow(bound, (n) => (n === 0 ? word : 0n), 8, counter);
        if (counter.draws === 2) {
          rejected++;
          continue;
        }
        hits.set(point, (hits.get(point) ?? 0) + 1);
      }
      expect(hits.size).toBe(Number(bound));
      const perResidue = Math.floor(256 / Number(bound));
      for (const count of hits.values()) expect(count).toBe(perResidue);
      expect(rejected).toBe(256 % Number(bound));
    }
  });

  it("stays in range for 256-bit words and any bound below 2^64", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (total, seed) => {
          const lot = drawLot(seed, total);
          expect(lot >= 0n && lot < total).toBe(true);
        },
      ),
    );
  });
});

describe("lotHolderIndex: the validator whose range of lots holds the point", () => {
  it("agrees with a linear walk over the validators", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 1000n }), { minLength: 1, maxLength: 40 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (stakes, r) => {
          const cumulative: bigint[] = [];
          let total = 0n;
          for (const s of stakes) {
            total += s;
            cumulative.push(total);
          }
          const lot = r % total;
          let walk = 0;
          while (cumulative[walk]! <= lot) walk++;
          expect(lotHolderIndex(cumulative, lot)).toBe(walk);
        },
      ),
    );
  });

  it("gives every validator exactly its stake's worth of lots", () => {
    const stakes = [3n, 1n, 4n, 1n, 5n];
    const cumulative = [3n, 4n, 8n, 9n, 14n];
    const owned = stakes.map(() => 0n);
    for (let lot = 0n; lot < 14n; lot++) owned[lotHolderIndex(cumulative, lot)]! += 1n;
    expect(owned).toEqual(stakes);
  });
});

describe("the lottery's cost", () => {
  // Counted operations, not time: a draw is one hash and a binary search over cumulative stakes.
  function validatorSet(n: number) {
    const account = new Uint8Array(20);
    const view = new DataView(account.buffer);
    const stakes: [string, bigint][] = [];
    for (let i = 0; i < n; i++) {
      view.setUint32(0, i * 2654435761);
      view.setUint32(16, i);
      stakes.push([encodeAddress(account), BigInt(1 + ((i * 7919) % 1000))]);
    }
    return buildValidatorSet(stakes);
  }

  it("grows with log2 of the number of validators (linear or better)", () => {
    const slots = 256;
    const perSlot = new Map<number, number>();
    for (const n of [10, 1_000, 100_000]) {
      const validators = validatorSet(n);
      const counter: LotteryCounter = { draws: 0, comparisons: 0 };
      const seed = new Uint8Array(32).fill(n % 251);
      for (let slot = 1; slot <= slots; slot++)
        selectForger(validators, slotSeed(seed, slot), counter);
      expect(counter.draws).toBe(slots);
      expect(counter.comparisons).toBeLessThanOrEqual(slots * Math.ceil(Math.log2(n)));
      perSlot.set(n, counter.comparisons / slots);
    }
    // 10,000 times the validators costs less than 10,000 times the comparisons (here about 6x).
    expect(perSlot.get(100_000)! / perSlot.get(10)!).toBeLessThan(100_000 / 10);
    expect(perSlot.get(100_000)!).toBeLessThanOrEqual(17);
  });
});

describe("selectForger", () => {
  it("always picks the only validator, and refuses an empty set", () => {
    const one = buildValidatorSet([["lc1only", 42n]]);
    expect(selectForger(one, new Uint8Array(32))).toBe("lc1only");
    expect(() => selectForger(buildValidatorSet([]), new Uint8Array(32))).toThrow(RangeError);
  });

  it("never picks an address without stake", () => {
    const set = buildValidatorSet([
      ["lc1a", 5n],
      ["lc1b", 0n],
      ["lc1c", 1n],
    ]);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        expect(["lc1a", "lc1c"]).toContain(selectForger(set, seed));
      }),
    );
  });
});

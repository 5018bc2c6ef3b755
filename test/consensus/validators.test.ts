import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildValidatorSet } from "../../src/consensus/validators.js";
import { testKey } from "../helpers/ledger.js";

describe("buildValidatorSet", () => {
  const a = testKey(1).address;
  const b = testKey(2).address;
  const c = testKey(3).address;

  it("keeps stake > 0 only, sorted by address, with running totals", () => {
    const set = buildValidatorSet([
      [c, { balance: 10n, stake: 3n, nonce: 0 }],
      [a, { balance: 99n, stake: 0n, nonce: 4 }],
      [b, { balance: 0n, stake: 5n, nonce: 1 }],
    ]);
    const sorted = [b, c].sort();
    expect(set.entries.map((e) => e.address)).toEqual(sorted);
    expect(set.total).toBe(8n);
    expect(set.cumulative[set.cumulative.length - 1]).toBe(8n);
    expect(set.entries.find((e) => e.address === b)?.stake).toBe(5n);
  });

  it("accepts bare stakes, and an empty state gives an empty set", () => {
    expect(buildValidatorSet(new Map([[a, 7n]])).total).toBe(7n);
    expect(buildValidatorSet([])).toEqual({ entries: [], cumulative: [], total: 0n });
  });

  it("does not depend on the order of its input", () => {
    const keys = [1, 2, 3, 4, 5, 6].map((n) => testKey(n).address);
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 1n << 63n }), { minLength: 6, maxLength: 6 }),
        fc.func(fc.integer()),
        (stakes, order) => {
          const pairs = keys.map((k, i) => [k, stakes[i]!] as const);
          const shuffled = [...pairs].sort((x, y) => order(x[0]) - order(y[0]));
          const set = buildValidatorSet(shuffled);
          expect(set).toEqual(buildValidatorSet(pairs));
          let sum = 0n;
          set.entries.forEach((e, i) => {
            sum += e.stake;
            expect(set.cumulative[i]).toBe(sum);
          });
          expect(set.total).toBe(stakes.reduce((x, y) => x + y, 0n));
        },
      ),
    );
  });

  it("refuses an address twice", () => {
    expect(() =>
      buildValidatorSet([
        [a, 1n],
        [a, 2n],
      ]),
    ).toThrow(/twice/);
  });
});

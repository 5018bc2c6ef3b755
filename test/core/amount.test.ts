import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addAmounts, MAX_AMOUNT, parseAmount } from "../../src/core/amount.js";
import { isValidationError } from "../../src/core/errors.js";

describe("amounts", () => {
  it("parses decimal strings below 2^64", () => {
    expect(parseAmount("0")).toBe(0n);
    expect(parseAmount("18446744073709551615")).toBe(MAX_AMOUNT);
    expect(parseAmount(42)).toBe(42n);
  });

  it("turns anything else into a MalformedAmount error", () => {
    for (const v of [
      "",
      "-1",
      "1e3",
      "0x10",
      "01",
      " 1",
      "1.0",
      "18446744073709551616",
      1.5,
      -1,
      null,
      {},
      [],
    ])
      expect(() => parseAmount(v)).toThrow(/amount/);
    fc.assert(
      fc.property(fc.anything(), (v) => {
        try {
          const a = parseAmount(v);
          expect(a >= 0n && a <= MAX_AMOUNT).toBe(true);
        } catch (e) {
          expect(isValidationError(e) && e.code === "MalformedAmount").toBe(true);
        }
      }),
    );
  });

  it("round-trips every u64 as a decimal string", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_AMOUNT }), (n) => {
        expect(parseAmount(n.toString())).toBe(n);
      }),
    );
  });

  it("refuses sums beyond 2^64 - 1", () => {
    expect(() => addAmounts(MAX_AMOUNT, 1n)).toThrow(/2\^64/);
    expect(addAmounts(MAX_AMOUNT - 1n, 1n)).toBe(MAX_AMOUNT);
  });
});

import { reject } from "./errors.js";

/** Amounts, fees and stakes are integers of base units below 2^64. */
export const MAX_AMOUNT = (1n << 64n) - 1n;

const DECIMAL_RE = /^(?:0|[1-9][0-9]{0,19})$/;

/** Parses a decimal string (or a safe non-negative integer) into an amount below 2^64. */
export function parseAmount(value: unknown, field = "amount"): bigint {
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0)
    text = String(value);
  else if (typeof value === "bigint") text = value.toString();
  else return reject("MalformedAmount", `${field} must be a decimal string of base units`);
  if (!DECIMAL_RE.test(text))
    return reject(
      "MalformedAmount",
      `${field} must be a non-negative integer without leading zeros`,
    );
  const amount = BigInt(text);
  if (amount > MAX_AMOUNT) return reject("MalformedAmount", `${field} must be below 2^64`);
  return amount;
}

export function formatAmount(amount: bigint): string {
  return amount.toString();
}

/** Adds two amounts; rejects with BalanceOverflow when the sum leaves the u64 range. */
export function addAmounts(a: bigint, b: bigint, what = "balance"): bigint {
  const sum = a + b;
  if (sum > MAX_AMOUNT) return reject("BalanceOverflow", `${what} would exceed 2^64 - 1`);
  return sum;
}

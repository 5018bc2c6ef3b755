import { type Command, Option } from "commander";
import { parseAmount } from "../core/amount.js";
import { isValidationError } from "../core/errors.js";
import { CliError } from "./output.js";

export const DEFAULT_NODE_URL = "http://127.0.0.1:5000";

/** `--flag-name` reads LOTCHAIN_FLAG_NAME from the environment too (SPEC section 3). */
export function envName(flag: string): string {
  return `LOTCHAIN_${flag.replace(/^--/, "").replace(/-/g, "_").toUpperCase()}`;
}

/** An option that also reads its LOTCHAIN_* environment variable. */
export function opt(flags: string, description: string): Option {
  const long = flags.split(/[ ,]+/).find((f) => f.startsWith("--"))!;
  return new Option(flags, description).env(envName(long));
}

export function addJson(cmd: Command): Command {
  return cmd.addOption(opt("--json", "machine-readable output: one JSON document on stdout"));
}

export function nodeUrlOption(): Option {
  return opt("--node <url>", "the node's API URL").default(DEFAULT_NODE_URL);
}

export function parseIntArg(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value)) throw new CliError(`${name} must be an integer, got "${value}"`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new CliError(`${name} must be between ${min} and ${max}, got ${value}`);
    return n;
  };
}

export function amountArg(name: string, value: string): bigint {
  try {
    return parseAmount(value, name);
  } catch (e) {
    if (isValidationError(e))
      throw new CliError(`${name} must be a whole number of base units below 2^64, got "${value}"`);
    throw e;
  }
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

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

/** Where a keystore's passphrase comes from (then LOTCHAIN_PASSWORD, then the terminal). */
export function passwordFileOption(): Option {
  return opt("--password-file <file>", "read the keystore passphrase from this file's first line");
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

/**
 * A repeatable flag: each use adds its value. Its LOTCHAIN_* variable holds a comma-separated list
 * (commas never occur in addresses, amounts or multiaddrs), so a value is split on commas.
 */
export function collect(value: string, previous: string[] = []): string[] {
  const values = value
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");
  return [...previous, ...values];
}

const FALSE_WORDS = new Set(["", "0", "false", "no", "off"]);

/**
 * Commander turns a boolean flag on whenever its LOTCHAIN_* variable is defined, whatever its
 * value; LOTCHAIN_MDNS=false must leave mDNS off. Run before each action (a preAction hook).
 */
export function applyFalseBooleanEnv(command: Command): void {
  for (const option of command.options) {
    const name = option.attributeName();
    if (!option.isBoolean() || option.envVar === undefined) continue;
    if (command.getOptionValueSource(name) !== "env") continue;
    const value = process.env[option.envVar] ?? "";
    if (FALSE_WORDS.has(value.trim().toLowerCase()))
      command.setOptionValueWithSource(name, undefined, "env");
  }
}

import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { bigIntToBytes, toHex } from "../core/bytes.js";
import { isValidationError } from "../core/errors.js";
import { genesisBlock, genesisToJson, parseGenesis } from "../core/genesis.js";
import { addJson, amountArg, collect, opt, parseIntArg } from "./options.js";
import { CliError, type JsonFlag, print } from "./output.js";

/** Default PoW target: about 100,000 hashes per block on average, some tenths of a second here. */
export const DEFAULT_POW_TARGET = ((1n << 256n) - 1n) / 100_000n;

export interface GenesisFlags extends JsonFlag {
  out: string;
  chainId: string;
  consensus: string;
  slotMs: number;
  finalityDepth: number;
  epochSlots?: number;
  unbondingSlots?: number;
  slashMillionths?: number;
  reporterMillionths?: number;
  maxSupply?: string;
  targetBlockMs: number;
  initialTarget?: string;
  validator?: string[];
  alloc?: string[];
  exchange?: string[];
  blockReward: string;
  minFee: string;
  timestamp?: number;
}

function addressAmounts(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values ?? []) {
    const match = /^([^:]+):(.+)$/.exec(value);
    if (!match) throw new CliError(`${flag} takes ADDRESS:AMOUNT, got "${value}"`);
    const [, address, amount] = match as unknown as [string, string, string];
    const prior = out[address] ? BigInt(out[address]) : 0n;
    out[address] = (prior + amountArg(flag, amount)).toString();
  }
  return out;
}

/** The genesis JSON of SPEC section 5 from command-line flags, validated by the core parser. */
export function genesisJsonFromFlags(flags: GenesisFlags): Record<string, unknown> {
  if (flags.consensus !== "pos" && flags.consensus !== "pow")
    throw new CliError(`--consensus must be pos or pow, got "${flags.consensus}"`);
  const consensus =
    flags.consensus === "pos"
      ? {
          type: "pos",
          slotMs: flags.slotMs,
          finalityDepth: flags.finalityDepth,
          epochSlots: flags.epochSlots,
          unbondingSlots: flags.unbondingSlots,
          slashMillionths: flags.slashMillionths,
          reporterMillionths: flags.reporterMillionths,
        }
      : {
          type: "pow",
          targetBlockMs: flags.targetBlockMs,
          initialTarget: (
            flags.initialTarget ?? toHex(bigIntToBytes(DEFAULT_POW_TARGET, 32))
          ).toLowerCase(),
        };
  const json = {
    chainId: flags.chainId,
    timestamp: flags.timestamp ?? Date.now(),
    consensus,
    alloc: addressAmounts(flags.alloc, "--alloc"),
    validators: addressAmounts(flags.validator, "--validator"),
    exchange: flags.exchange ?? [],
    blockReward: amountArg("--block-reward", flags.blockReward).toString(),
    minFee: amountArg("--min-fee", flags.minFee).toString(),
    maxSupply:
      flags.maxSupply === undefined
        ? undefined
        : amountArg("--max-supply", flags.maxSupply).toString(),
  };
  try {
    return genesisToJson(parseGenesis(json));
  } catch (e) {
    if (isValidationError(e)) throw new CliError(e.message);
    throw e;
  }
}

export function registerGenesisCommands(program: Command): void {
  const genesis = program.command("genesis").description("network genesis files");
  addJson(
    genesis
      .command("create")
      .description("write a genesis file (SPEC section 5)")
      .addOption(opt("--out <file>", "where to write it").makeOptionMandatory())
      .addOption(opt("--chain-id <id>", "network name: a-z, 0-9, . _ -").makeOptionMandatory())
      .addOption(opt("--consensus <type>", "pos or pow").default("pos"))
      .addOption(
        opt("--slot-ms <n>", "PoS slot length")
          .argParser(parseIntArg("--slot-ms", 1))
          .default(1000),
      )
      .addOption(
        opt("--finality-depth <n>", "PoS: no reorganisation this deep")
          .argParser(parseIntArg("--finality-depth", 1))
          .default(64),
      )
      .addOption(
        opt(
          "--epoch-slots <n>",
          "PoS: slots per epoch (one stake snapshot each; default 8)",
        ).argParser(parseIntArg("--epoch-slots", 1)),
      )
      .addOption(
        opt(
          "--unbonding-slots <n>",
          "PoS: slots before unstaked tokens are spendable (at least the finality depth)",
        ).argParser(parseIntArg("--unbonding-slots", 1)),
      )
      .addOption(
        opt(
          "--slash-millionths <n>",
          "PoS: share of an equivocating validator's stake taken (default 1000000: all)",
        ).argParser(parseIntArg("--slash-millionths", 0)),
      )
      .addOption(
        opt(
          "--reporter-millionths <n>",
          "PoS: share of a slashed amount paid to the including forger (default 100000)",
        ).argParser(parseIntArg("--reporter-millionths", 0)),
      )
      .addOption(opt("--max-supply <n>", "supply cap in base units (default 2^64 - 1)"))
      .addOption(
        opt("--target-block-ms <n>", "PoW block interval the difficulty aims at")
          .argParser(parseIntArg("--target-block-ms", 1))
          .default(2000),
      )
      .addOption(opt("--initial-target <hex>", "PoW: target of the first blocks, 64 hex digits"))
      .addOption(
        opt("--validator <address:stake>", "initial stake (repeatable)").argParser(collect),
      )
      .addOption(opt("--alloc <address:amount>", "initial balance (repeatable)").argParser(collect))
      .addOption(opt("--exchange <address>", "EXCHANGE authority (repeatable)").argParser(collect))
      .addOption(
        opt("--block-reward <n>", "base units per block to the forger or miner").default("0"),
      )
      .addOption(opt("--min-fee <n>", "smallest fee accepted").default("0"))
      .addOption(
        opt("--timestamp <ms>", "genesis time (default: now)").argParser(
          parseIntArg("--timestamp"),
        ),
      ),
  ).action((flags: GenesisFlags) => {
    const json = genesisJsonFromFlags(flags);
    const file = resolve(flags.out);
    try {
      writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    } catch (e) {
      throw new CliError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    const hash = genesisBlock(parseGenesis(json)).hashHex;
    print(
      flags,
      { file, genesisHash: hash, genesis: json },
      () => `wrote ${file} (genesis block ${hash})`,
    );
  });
}

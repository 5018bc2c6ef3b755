import { readFileSync } from "node:fs";
import { isValidationError } from "../core/errors.js";
import { type Genesis, parseGenesis } from "../core/genesis.js";
import { CliError } from "./output.js";

/** Reads and validates a genesis file, with a one-line reason when it is not one. */
export function readGenesisFile(file: string): Genesis {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(
      `cannot read genesis file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not JSON`);
  }
  try {
    return parseGenesis(json);
  } catch (e) {
    if (isValidationError(e)) throw new CliError(`${file}: ${e.message}`);
    throw e;
  }
}

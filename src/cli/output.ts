import { isValidationError } from "../core/errors.js";

/** A user mistake or an unreachable node: printed as one line, exit code 1, no stack trace. */
export class CliError extends Error {
  override readonly name = "CliError";
}

export interface JsonFlag {
  json?: boolean;
}

/** Prints the result: one JSON document with --json, otherwise the human text. */
export function print(opts: JsonFlag, data: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/** One line on stderr and a non-zero exit, for every failure a user can cause. */
export function fail(error: unknown): never {
  let message: string;
  if (error instanceof CliError || isValidationError(error)) message = error.message;
  else if (error instanceof Error) message = error.message;
  else message = String(error);
  process.stderr.write(`lotchain: ${message.split("\n")[0]}\n`);
  process.exit(1);
}

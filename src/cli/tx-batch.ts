import { readFileSync } from "node:fs";
import { type BatchResultJson, NodeClient } from "./client.js";
import { amountArg } from "./options.js";
import { CliError, type JsonFlag, print } from "./output.js";

/** Transactions per request of the batch route (SPEC section 6). */
const MAX_PER_REQUEST = 1000;

export interface BatchFlags extends JsonFlag {
  batch: string;
  node: string;
  wait?: boolean;
  waitTimeout: number;
  maxFee: string;
  chainId?: string;
}

/** One transaction's outcome as printed: the node's answer, and its block once --wait saw it. */
type Outcome = BatchResultJson & { height?: number; blockHash?: string };

/** Reads the file: a JSON array of signed transactions (as `tx sign` prints them). */
function readBatch(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read --batch ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`--batch ${file} is not JSON`);
  }
  if (!Array.isArray(json) || json.length === 0)
    throw new CliError(`--batch ${file} must hold a JSON array of signed transactions`);
  return json;
}

/**
 * `tx send --batch FILE`: submits signed transactions through POST /v1/transactions/batch, up
 * to 1,000 a request, in file order. Like a single send it refuses, before anything is sent, a
 * fee above --max-fee and a node on a chain other than --chain-id. Prints each transaction's
 * answer; exits non-zero (after printing) when the node refused any of them.
 */
export async function sendBatch(flags: BatchFlags): Promise<void> {
  const maxFee = amountArg("--max-fee", flags.maxFee);
  const txs = readBatch(flags.batch);
  txs.forEach((tx, i) => {
    const fee = (tx as { fee?: unknown } | null)?.fee;
    // A fee that is not a decimal string is the node's to refuse, in that transaction's answer.
    if (typeof fee === "string" && /^[0-9]{1,20}$/.test(fee) && BigInt(fee) > maxFee)
      throw new CliError(
        `transaction ${i} of --batch pays a fee of ${fee}, above --max-fee ${maxFee}; nothing sent`,
      );
  });
  const client = new NodeClient(flags.node);
  if (flags.chainId !== undefined) {
    const status = await client.status();
    if (status.chainId !== flags.chainId)
      throw new CliError(
        `the node is on chain "${status.chainId}", not "${flags.chainId}" (--chain-id); nothing sent`,
      );
  }
  const outcomes: Outcome[] = [];
  for (let from = 0; from < txs.length; from += MAX_PER_REQUEST) {
    const { results } = await client.submitBatch(txs.slice(from, from + MAX_PER_REQUEST));
    outcomes.push(...results);
  }
  if (flags.wait) {
    const deadline = Date.now() + flags.waitTimeout;
    for (const o of outcomes) {
      if (o.status !== 202 || o.id === null) continue;
      const included = await client.waitForInclusion(o.id, Math.max(1, deadline - Date.now()));
      o.height = included.height;
      o.blockHash = included.blockHash;
    }
  }
  print(flags, { results: outcomes }, () =>
    outcomes
      .map((o, i) => {
        const name = o.id ?? `transaction ${i}`;
        if (o.status !== 202) return `${name} refused (${o.status} ${o.error}): ${o.message}`;
        return o.height === undefined
          ? `${name} accepted`
          : `${name} included at height ${o.height} in block ${o.blockHash}`;
      })
      .join("\n"),
  );
  const refused = outcomes.filter((o) => o.status !== 202).length;
  if (refused > 0)
    throw new CliError(`the node refused ${refused} of ${outcomes.length} transactions`);
}

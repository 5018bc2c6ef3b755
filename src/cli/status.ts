import type { Command } from "commander";
import { syncProgress } from "../util/duration.js";
import { NodeClient, type StatusJson } from "./client.js";
import { addJson, nodeUrlOption } from "./options.js";
import { type JsonFlag, print } from "./output.js";

interface ValidatorsJson {
  totalStake: string;
  validators: { address: string; stake: string; shareMillionths: number; slashed?: boolean }[];
}

/** The sync line: in step, or how far, how fast and how long to go. */
export function syncLine(s: StatusJson): string {
  const p = syncProgress(s.height, s);
  return p ? `syncing: ${p.text}` : s.syncing ? "syncing" : "in step with its peers";
}

export function registerStatusCommand(program: Command): void {
  addJson(
    program
      .command("status")
      .description("the node's height, head, finality, peers, sync, mempool and validators")
      .addOption(nodeUrlOption()),
  ).action(async (flags: JsonFlag & { node: string }) => {
    const client = new NodeClient(flags.node);
    const status = await client.status();
    if (flags.json) return print(flags, status, () => "");
    const v = await client.get<ValidatorsJson>("/v1/validators");
    const pct = (m: number) => `${(m / 10_000).toFixed(2)}%`;
    const lines = [
      `node        ${client.base}  (lotchain ${status.version})`,
      `chain       ${status.chainId}, ${status.consensus === "pos" ? "proof of stake" : "proof of work"}`,
      `height      ${status.height}`,
      `head        ${status.headHash}`,
      `finalized   ${status.finalizedHeight}${status.height > status.finalizedHeight ? ` (${status.height - status.finalizedHeight} blocks under the head can still change)` : ""}`,
      `peers       ${status.peers}`,
      `sync        ${syncLine(status)}`,
      `mempool     ${status.mempoolSize ?? "?"} pending transaction${status.mempoolSize === 1 ? "" : "s"}`,
      `validators  ${v.validators.length}, total stake ${v.totalStake}`,
      ...v.validators.map(
        (x) =>
          `  ${x.address}  ${x.stake.padStart(12)}  ${pct(x.shareMillionths).padStart(7)}${x.slashed ? "  slashed" : ""}`,
      ),
    ];
    print(flags, status, () => lines.join("\n"));
  });
}

import { writeFileSync } from "node:fs";
import { type Agent, request } from "node:http";

/** POSTs a JSON body over a keep-alive agent; resolves with the status and the answer's text. */
export function postJson(
  agent: Agent,
  url: string,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * The genesis of a one-node ingest benchmark: every sender funded, the first one the only
 * validator, 1 s slots, no reward, a fee of 1.
 */
export function writeIngestGenesis(path: string, chainId: string, senders: string[]): void {
  writeFileSync(
    path,
    JSON.stringify({
      chainId,
      timestamp: Date.now(),
      consensus: { type: "pos", slotMs: 1000, finalityDepth: 64 },
      alloc: Object.fromEntries(senders.map((address) => [address, "1000000000"])),
      validators: { [senders[0]!]: "1" },
      exchange: [],
      blockReward: "0",
      minFee: "1",
    }),
  );
}

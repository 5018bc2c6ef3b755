import { rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, tempDir } from "../helpers/node-process.js";

/**
 * `tx send` against a hostile node: the node tells the chain id and the minimum fee the CLI
 * signs with. A node that names a huge fee or another chain gets nothing signed and nothing sent.
 */
describe("tx send against a hostile node", () => {
  const dir = tempDir("lotchain-hostile-");
  let server: Server;
  let url: string;
  let status = { chainId: "lotchain-devnet", minFee: "0" };
  const posted: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.method === "POST") posted.push(req.url ?? "");
      res.setHeader("content-type", "application/json");
      if (req.url === "/v1/status") return res.end(JSON.stringify(status));
      if (req.url?.startsWith("/v1/accounts/"))
        return res.end(JSON.stringify({ balance: "0", stake: "0", nonce: 0, pendingNonce: 0 }));
      res.statusCode = 200;
      res.end(JSON.stringify({ id: "00".repeat(32) }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a fee above --max-fee (default 1000) and a chain other than --chain-id", async () => {
    const key = join(dir, "k.pem");
    const gen = await runCli(["keygen", "--out", key, "--json"]);
    const { address } = JSON.parse(gen.stdout);
    const send = (...extra: string[]) =>
      runCli([
        "tx",
        "send",
        "--key",
        key,
        "--node",
        url,
        "--type",
        "TRANSFER",
        "--to",
        address,
        "--amount",
        "1",
        ...extra,
      ]);

    status = { chainId: "lotchain-devnet", minFee: "1000000000" };
    let r = await send();
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/above --max-fee 1000; nothing sent/);
    r = await send("--max-fee", "5000");
    expect(r.stderr).toMatch(/above --max-fee 5000/);
    r = await send("--fee", "10", "--max-fee", "5");
    expect(r.stderr).toMatch(/--fee 10 is above --max-fee 5/);

    status = { chainId: "evil-chain", minFee: "0" };
    r = await send("--chain-id", "lotchain-devnet");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/on chain "evil-chain", not "lotchain-devnet"/);
    expect(posted).toEqual([]);

    // Within the limits it signs and sends.
    status = { chainId: "lotchain-devnet", minFee: "7" };
    r = await send("--chain-id", "lotchain-devnet", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(posted).toEqual(["/v1/transactions"]);
  }, 30_000);
});

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAccountProof } from "../../src/core/account-proof.js";
import { parseHex } from "../../src/core/bytes.js";
import { transactionToJson } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson, postJson, runCli, waitFor } from "../helpers/node-process.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

const CHAIN = "lotchain-apitest";
const forger = testKey(71);
const alice = testKey(72);
const bob = testKey(73);
const nobody = testKey(74);

let t: TestNode;
let liar: Server;
let liarUrl: string;

beforeAll(async () => {
  t = await startTestNode({
    genesis: posGenesis({ validator: forger, alloc: { [alice.address]: "1000" } }),
    key: forger,
    forgeEmptyBlocks: true,
  });
  for (let nonce = 0; nonce < 3; nonce++) {
    const tx = makeTx(alice, { chainId: CHAIN, to: bob.address, amount: 5n, fee: 1n, nonce });
    expect((await postJson(`${t.url}/v1/transactions`, transactionToJson(tx))).status).toBe(202);
  }
  await waitFor(
    async () => (await getJson(`${t.url}/v1/accounts/${bob.address}`)).body.balance === "15",
    20_000,
    "bob's transfers",
  );
  // A node that lies: it passes everything through but changes a sibling of every proof.
  liar = createServer(async (req, res) => {
    const upstream = await fetch(`${t.url}${req.url}`);
    const body: any = await upstream.json();
    if (req.url?.includes("/proof")) {
      const s: string = body.proof.siblings[0] ?? body.proof.leaf.value;
      const flipped = (s[0] === "0" ? "1" : "0") + s.slice(1);
      if (body.proof.siblings.length > 0) body.proof.siblings[0] = flipped;
      else body.proof.leaf.value = flipped;
    }
    res.writeHead(upstream.status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
  liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => liar?.close(resolve));
  await t?.close();
});

describe("GET /v1/accounts/{address}/proof", () => {
  it("proves an account against the state root of the block it names", async () => {
    const r = await getJson(`${t.url}/v1/accounts/${bob.address}/proof`);
    expect(r.status).toBe(200);
    const head = (await getJson(`${t.url}/v1/blocks/${r.body.blockHash}`)).body;
    expect(r.body.stateRoot).toBe(head.stateRoot);
    expect(r.body).toMatchObject({ height: head.height, account: { address: bob.address } });
    const proven = verifyAccountProof(parseHex(head.stateRoot)!, bob.address, r.body.proof)!;
    expect(proven.balance.toString()).toBe(r.body.account.balance);
    const finalized = await getJson(`${t.url}/v1/accounts/${bob.address}/proof?block=finalized`);
    expect(finalized.status).toBe(200);
  });

  it("proves an absent account absent", async () => {
    const r = await getJson(`${t.url}/v1/accounts/${nobody.address}/proof`);
    expect(r.status).toBe(200);
    expect(r.body.account).toBeNull();
    expect(verifyAccountProof(parseHex(r.body.stateRoot)!, nobody.address, r.body.proof)).toBe(
      undefined,
    );
  });

  it("answers 400 for a bad address or block id and 404 for a block it has no tree of", async () => {
    expect((await getJson(`${t.url}/v1/accounts/lc1nope/proof`)).status).toBe(400);
    expect((await getJson(`${t.url}/v1/accounts/${bob.address}/proof?block=xyz`)).status).toBe(400);
    const unknown = await getJson(
      `${t.url}/v1/accounts/${bob.address}/proof?block=${"ab".repeat(32)}`,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("NotFound");
  });
});

describe("lotchain balance --verify", () => {
  it("checks the account against the node's finalized header, or a hash the user trusts", async () => {
    // Bob's transfers must be final first: the default trusts the finalized block.
    const funded = (await getJson(`${t.url}/v1/accounts/${bob.address}/proof`)).body.height;
    await waitFor(
      async () => (await getJson(`${t.url}/v1/status`)).body.finalizedHeight >= funded,
      30_000,
      "bob's transfers final",
    );
    const byNode = await runCli(["balance", bob.address, "--verify", "--node", t.url, "--json"]);
    expect(byNode.code, byNode.stderr).toBe(0);
    const verified = JSON.parse(byNode.stdout);
    expect(verified).toMatchObject({
      address: bob.address,
      balance: "15",
      exists: true,
      verified: { trusted: "node-finalized" },
    });
    const head = (await getJson(`${t.url}/v1/blocks/head`)).body;
    const byHash = await runCli([
      "balance",
      bob.address,
      "--verify",
      "--trusted-hash",
      head.hash,
      "--node",
      t.url,
    ]);
    expect(byHash.code, byHash.stderr).toBe(0);
    expect(byHash.stdout).toMatch(new RegExp(`verified +against block ${head.hash}`));
    expect(byHash.stdout).toMatch(/trusted +the block hash given with --trusted-hash/);
    const absent = await runCli(["balance", nobody.address, "--verify", "--node", t.url]);
    expect(absent.stdout).toMatch(/proven absent/);
  });

  it("fails in one line when the node's proof does not hold, or the trusted block is unknown", async () => {
    const lied = await runCli(["balance", bob.address, "--verify", "--node", liarUrl]);
    expect(lied.code).not.toBe(0);
    expect(lied.stderr.trim().split("\n")).toHaveLength(1);
    expect(lied.stderr).toMatch(/proof does not hold/);
    const unknown = await runCli([
      "balance",
      bob.address,
      "--verify",
      "--trusted-hash",
      "cd".repeat(32),
      "--node",
      t.url,
    ]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    const bad = await runCli(["balance", bob.address, "--trusted-hash", "12", "--node", t.url]);
    expect(bad.code).not.toBe(0);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { MAX_AMOUNT } from "../../src/core/amount.js";
import { transactionToJson } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson, postJson, waitFor } from "../helpers/node-process.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

/**
 * The fuzz campaign's chain halt (issue 13): a forger whose balance plus a block's fees passed
 * 2^64 - 1 had every block refused. With the supply cap (genesis maxSupply, default 2^64 - 1) no
 * balance can get there: each way in ends with the next block forged and the transaction
 * included, or refused at admission with a clear code.
 */
const CHAIN = "lotchain-apitest";
const forger = testKey(61);
const exchange = testKey(62);
const alice = testKey(63);
const bob = testKey(64);

let t: TestNode | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const tx = (from: typeof alice, spec: Parameters<typeof makeTx>[1]) =>
  transactionToJson(makeTx(from, { chainId: CHAIN, timestamp: Date.now(), ...spec }));

async function start() {
  t = await startTestNode({
    genesis: posGenesis({
      validator: forger,
      exchange,
      alloc: { [alice.address]: "100", [exchange.address]: "100" },
    }),
    key: forger,
  });
  return t;
}

async function included(node: TestNode, id: string) {
  return waitFor(
    async () => {
      const r = await getJson(`${node.url}/v1/transactions/${id}`);
      return r.body.status === "included" ? r.body : undefined;
    },
    20_000,
    `inclusion of ${id}`,
  );
}

describe("the supply cap keeps the chain going", () => {
  it("mint the forger's balance to the cap, then pay it fees: blocks go on", async () => {
    const node = await start();
    // Genesis: 10 staked + 100 + 100. The exchange mints everything that is left to the forger.
    const room = MAX_AMOUNT - 210n;
    const mint = tx(exchange, {
      type: "EXCHANGE",
      to: forger.address,
      amount: room,
      fee: 1n,
      nonce: 0,
    });
    expect((await postJson(`${node.url}/v1/transactions`, mint)).status).toBe(202);
    await included(node, mint.id);
    // Not one unit more can be minted: refused at admission, with the code that says why.
    const more = tx(exchange, { type: "EXCHANGE", to: bob.address, amount: 1n, fee: 1n, nonce: 1 });
    const refused = await postJson(`${node.url}/v1/transactions`, more);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toBe("SupplyCapExceeded");
    // A fee of 10 to a forger holding almost 2^64 - 1: included, the chain goes on.
    const feeTx = tx(alice, { to: bob.address, amount: 1n, fee: 10n, nonce: 0 });
    expect((await postJson(`${node.url}/v1/transactions`, feeTx)).status).toBe(202);
    const at = await included(node, feeTx.id);
    const forgerAccount = (await getJson(`${node.url}/v1/accounts/${forger.address}`)).body;
    expect(BigInt(forgerAccount.balance)).toBe(room + 1n + 10n);
    expect(at.height).toBeGreaterThan(1);
  });

  it("two mints of 2^63 + 1: the second is refused at admission, the first is included", async () => {
    const node = await start();
    const half = (1n << 63n) + 1n;
    const first = tx(exchange, {
      type: "EXCHANGE",
      to: alice.address,
      amount: half,
      fee: 1n,
      nonce: 0,
    });
    const second = tx(exchange, {
      type: "EXCHANGE",
      to: bob.address,
      amount: half,
      fee: 1n,
      nonce: 1,
    });
    expect((await postJson(`${node.url}/v1/transactions`, first)).status).toBe(202);
    const refused = await postJson(`${node.url}/v1/transactions`, second);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: "SupplyCapExceeded" });
    await included(node, first.id);
    // With its fee the account pays a huge fee too: the forger's credit cannot overflow either.
    const bigFee = tx(alice, { to: bob.address, amount: 1n, fee: 1n << 63n, nonce: 0 });
    expect((await postJson(`${node.url}/v1/transactions`, bigFee)).status).toBe(202);
    await included(node, bigFee.id);
  });
});

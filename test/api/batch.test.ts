import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTransaction, transactionToJson } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson, postJson } from "../helpers/node-process.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

const forger = testKey(41);
const alice = testKey(42);
const bob = testKey(43);
const carol = testKey(44);
const CHAIN = "lotchain-apitest";

const genesis = () =>
  posGenesis({
    validator: forger,
    alloc: { [alice.address]: "1000", [bob.address]: "1000" },
  });

const tx = (from: typeof alice, spec: Parameters<typeof makeTx>[1]) =>
  transactionToJson(makeTx(from, { chainId: CHAIN, ...spec }));

/**
 * Every kind of outcome, in an order where earlier items matter to later ones: admitted ones,
 * a duplicate of an earlier item, a replacement too cheap, funds short, a forged signature,
 * another chain, a nonce used, out of schema, an id that does not match.
 */
function mixedBatch(): unknown[] {
  const a0 = tx(alice, { to: carol.address, amount: 10n, nonce: 0 });
  const good = makeTx(bob, { chainId: CHAIN, to: carol.address, nonce: 0 });
  const forged = transactionToJson(makeTransaction(good, new Uint8Array(64).fill(5)));
  const { signature: _, ...unsigned } = tx(alice, { to: carol.address, nonce: 5 });
  return [
    a0,
    tx(alice, { to: carol.address, amount: 20n, nonce: 1 }),
    a0,
    tx(alice, { to: carol.address, amount: 30n, nonce: 1 }), // same fee: underpriced
    tx(alice, { to: carol.address, amount: 5_000n, nonce: 2 }),
    forged,
    tx(bob, { to: carol.address, nonce: 0, chainId: "another-chain" }),
    transactionToJson(good),
    tx(carol, { to: alice.address, nonce: 0 }), // no funds at all
    unsigned,
    { ...tx(alice, { to: carol.address, nonce: 3 }), id: "ab".repeat(32) },
    "not an object",
    tx(bob, { to: carol.address, nonce: 1, fee: 0n }),
  ];
}

let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  // Two nodes of one chain, neither forging: one takes the batch, the other the same
  // transactions one POST at a time.
  a = await startTestNode({ genesis: genesis() });
  b = await startTestNode({ genesis: genesis() });
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe("POST /v1/transactions/batch", () => {
  it("answers each transaction as a single POST would have, in input order", async () => {
    const items = mixedBatch();
    const batch = await postJson(`${a.url}/v1/transactions/batch`, { transactions: items });
    expect(batch.status).toBe(200);
    const results = batch.body.results as {
      id: string | null;
      status: number;
      error?: string;
      message?: string;
    }[];
    expect(results.length).toBe(items.length);
    const singles = [];
    for (const item of items) singles.push(await postJson(`${b.url}/v1/transactions`, item));
    for (const [i, single] of singles.entries()) {
      const r = results[i]!;
      expect(r.status, `item ${i}: ${JSON.stringify(r)}`).toBe(single.status);
      if (single.status === 202) {
        expect(r).toEqual({ id: single.body.id, status: 202 });
      } else {
        expect(r.error, `item ${i}`).toBe(single.body.error);
        expect(r.message).toEqual(expect.any(String));
      }
    }
    expect(results.map((r) => r.status)).toEqual([
      202, 202, 409, 409, 422, 422, 422, 202, 422, 400, 422, 400, 422,
    ]);
    expect(results.map((r) => r.error ?? null)).toEqual([
      null,
      null,
      "Duplicate",
      "ReplacementUnderpriced",
      "InsufficientFunds",
      "InvalidSignature",
      "WrongChain",
      null,
      "InsufficientFunds",
      "BadRequest",
      "IdMismatch",
      "BadRequest",
      "FeeTooLow",
    ]);
    // A parsed transaction names its id; one that does not parse has none.
    expect(results[0]!.id).toBe((items[0] as { id: string }).id);
    expect(results[9]!.id).toBeNull();
    expect(results[9]!.message).toContain("body/transactions/9");
    // What was admitted is pending on both nodes alike.
    const pending = async (t: TestNode) =>
      ((await getJson(`${t.url}/v1/mempool`)).body.transactions as { id: string }[])
        .map((x) => x.id)
        .sort();
    expect(await pending(a)).toEqual(await pending(b));
    expect((await pending(a)).length).toBe(3);
  });

  it("refuses a malformed envelope with a 400 in the API's error format", async () => {
    const url = `${a.url}/v1/transactions/batch`;
    const one = tx(alice, { to: carol.address, nonce: 9 });
    const tooMany = Array.from({ length: 1001 }, () => one);
    for (const body of [
      {},
      { transactions: [] },
      { transactions: tooMany },
      { transactions: one },
      { transactions: [one], extra: 1 },
      [one],
    ]) {
      const r = await postJson(url, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.body).toEqual({ error: "BadRequest", message: expect.any(String) });
    }
    const raw = await postJson(url, "{ not json", true);
    expect(raw.status).toBe(400);
    expect(raw.body.error).toBe("BadRequest");
    expect((await getJson(`${a.url}/v1/mempool`)).body.transactions.length).toBe(3);
  });

  it("takes 1,000 transactions in one request", async () => {
    const senders = Array.from({ length: 20 }, (_, i) => testKey(100 + i));
    const t = await startTestNode({
      genesis: posGenesis({
        validator: forger,
        alloc: Object.fromEntries(senders.map((s) => [s.address, "1000000"])),
      }),
    });
    try {
      const items = [];
      for (let n = 0; n < 50; n++)
        for (const s of senders) items.push(tx(s, { to: carol.address, nonce: n }));
      const r = await postJson(`${t.url}/v1/transactions/batch`, { transactions: items });
      expect(r.status).toBe(200);
      expect(r.body.results.every((x: { status: number }) => x.status === 202)).toBe(true);
      expect((await getJson(`${t.url}/v1/status`)).body.mempoolSize).toBe(1000);
    } finally {
      await t.close();
    }
  });

  it("counts each transaction against the client's POST rate: those past it get 429", async () => {
    const t = await startTestNode({ genesis: genesis(), rateLimitPerSecond: 5 });
    try {
      const items = Array.from({ length: 8 }, (_, n) => tx(alice, { to: carol.address, nonce: n }));
      // At the start of a second, so that the budget does not renew halfway.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      const r = await postJson(`${t.url}/v1/transactions/batch`, { transactions: items });
      expect(r.status).toBe(200);
      const statuses = r.body.results.map((x: { status: number }) => x.status);
      expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
      expect(r.body.results[5].error).toBe("RateLimited");
      expect((await getJson(`${t.url}/v1/status`)).body.mempoolSize).toBe(5);
    } finally {
      await t.close();
    }
  });
});

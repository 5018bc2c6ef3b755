import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { transactionToJson } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson, postJson, waitFor } from "../helpers/node-process.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

const forger = testKey(11);
const exchange = testKey(12);
const alice = testKey(13);
const bob = testKey(14);
const CHAIN = "lotchain-apitest";

let t: TestNode;

const tx = (from: typeof alice, spec: Parameters<typeof makeTx>[1]) =>
  transactionToJson(makeTx(from, { chainId: CHAIN, ...spec }));

async function account(address: string) {
  return (await getJson(`${t.url}/v1/accounts/${address}`)).body;
}

async function included(id: string) {
  return waitFor(
    async () => {
      const r = await getJson(`${t.url}/v1/transactions/${id}`);
      return r.body.status === "included" ? r.body : undefined;
    },
    20_000,
    `inclusion of ${id}`,
  );
}

beforeAll(async () => {
  t = await startTestNode({
    genesis: posGenesis({
      validator: forger,
      exchange,
      alloc: { [alice.address]: "1000", [exchange.address]: "100" },
    }),
    key: forger,
  });
});

afterAll(async () => {
  await t?.close();
});

describe("a single-validator PoS node", () => {
  it("takes EXCHANGE, TRANSFER, STAKE and UNSTAKE and the balances come out right", async () => {
    const steps = [
      tx(exchange, { type: "EXCHANGE", to: bob.address, amount: 50n, fee: 1n, nonce: 0 }),
      tx(alice, { type: "TRANSFER", to: bob.address, amount: 100n, fee: 2n, nonce: 0 }),
      tx(alice, { type: "STAKE", amount: 300n, fee: 1n, nonce: 1 }),
      tx(alice, { type: "UNSTAKE", amount: 120n, fee: 1n, nonce: 2 }),
    ];
    for (const s of steps) {
      const r = await postJson(`${t.url}/v1/transactions`, s);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      expect(r.body.id).toBe(s.id);
    }
    expect((await account(alice.address)).pendingNonce).toBe(3);
    for (const s of steps) {
      const inc = await included(s.id);
      expect(inc.height).toBeGreaterThan(0);
      expect(inc.blockHash).toMatch(/^[0-9a-f]{64}$/);
    }
    // The UNSTAKE unbonds: its 120 come back to the balance unbondingSlots after its block.
    const aliceNow = await account(alice.address);
    expect(aliceNow).toEqual({
      address: alice.address,
      balance: String(1000 - 102 - 301 - 1),
      stake: "180",
      nonce: 3,
      pendingNonce: 3,
      unbonding: [{ amount: "120", releaseSlot: expect.any(Number) }],
      slashed: false,
    });
    const unstaked = await getJson(`${t.url}/v1/blocks/${(await included(steps[3]!.id)).height}`);
    expect(aliceNow.unbonding[0].releaseSlot).toBe(
      unstaked.body.slot + (t.node.genesis.consensus as { unbondingSlots: number }).unbondingSlots,
    );
    expect((await account(bob.address)).balance).toBe("150");
    // Fees went to the forger: 1 + 2 + 1 + 1.
    expect((await account(forger.address)).balance).toBe("5");
    const validators = (await getJson(`${t.url}/v1/validators`)).body;
    expect(validators.totalStake).toBe("190");
  });

  it("lists an address's transactions newest first, with heights, page by page", async () => {
    const history = async (address: string, query = "") =>
      (await getJson(`${t.url}/v1/accounts/${address}/transactions${query}`)).body;
    const all = (await history(alice.address)).transactions;
    expect(all.map((x: { type: string }) => x.type)).toEqual(["UNSTAKE", "STAKE", "TRANSFER"]);
    for (const x of all) {
      expect(x.height).toBeGreaterThan(0);
      expect(x.blockHash).toMatch(/^[0-9a-f]{64}$/);
      expect((await getJson(`${t.url}/v1/transactions/${x.id}`)).body.height).toBe(x.height);
    }
    const heights = all.map((x: { height: number }) => x.height);
    expect([...heights].sort((a, b) => b - a)).toEqual(heights);
    // Paging by the last id seen, and by height.
    const first = (await history(alice.address, "?limit=1")).transactions;
    expect(first.map((x: { id: string }) => x.id)).toEqual([all[0].id]);
    const rest = (await history(alice.address, `?limit=5&before=${first[0].id}`)).transactions;
    expect(rest.map((x: { id: string }) => x.id)).toEqual([all[1].id, all[2].id]);
    const below = (await history(alice.address, `?before=${all[2].height}`)).transactions;
    expect(below).toEqual([]);
    // Bob received two: alice's transfer and the exchange's mint.
    const bobs = (await history(bob.address)).transactions;
    expect(bobs.map((x: { type: string }) => x.type).sort()).toEqual(["EXCHANGE", "TRANSFER"]);
    expect((await history(testKey(99).address)).transactions).toEqual([]);
    // Bad input: a 4xx JSON error.
    const bad = await getJson(`${t.url}/v1/accounts/lc1nope/transactions`);
    expect(bad.status).toBe(400);
    expect(
      (await getJson(`${t.url}/v1/accounts/${alice.address}/transactions?limit=0`)).status,
    ).toBe(400);
    expect(
      (await getJson(`${t.url}/v1/accounts/${alice.address}/transactions?before=xyz`)).status,
    ).toBe(400);
    const notHers = await getJson(
      `${t.url}/v1/accounts/${alice.address}/transactions?before=${bobs.find((x: { type: string }) => x.type === "EXCHANGE").id}`,
    );
    expect(notHers.status).toBe(404);
    expect(notHers.body.error).toBeTypeOf("string");
  });

  it("serves blocks, status, the seed's routes and the docs", async () => {
    const status = (await getJson(`${t.url}/v1/status`)).body;
    expect(status).toMatchObject({ chainId: CHAIN, consensus: "pos", syncing: false });
    expect(status.height).toBeGreaterThan(0);
    const head = (await getJson(`${t.url}/v1/blocks/head`)).body;
    expect(head.hash).toBe(status.headHash);
    expect(head.slot).toBeGreaterThan(0);
    expect(head.randomness).toMatch(/^[0-9a-f]{128}$/);
    expect(head.vrfProof).toMatch(/^[0-9a-f]{160}$/);
    const byHeight = (await getJson(`${t.url}/v1/blocks/${head.height}`)).body;
    expect(byHeight.hash).toBe(head.hash);
    const byHash = (await getJson(`${t.url}/v1/blocks/${head.hash}`)).body;
    expect(byHash.height).toBe(head.height);
    const genesis = (await getJson(`${t.url}/v1/blocks/genesis`)).body;
    expect(genesis.height).toBe(0);
    expect((await getJson(`${t.url}/v1/blocks/finalized`)).status).toBe(200);
    const defaults = (await getJson(`${t.url}/v1/blocks?from=&limit=`)).body;
    expect(defaults.blocks[0].height).toBe(0);
    const range = (await getJson(`${t.url}/v1/blocks?from=0&limit=2`)).body;
    expect(range.blocks.map((b: { height: number }) => b.height)).toEqual([0, 1]);
    const legacy = (await getJson(`${t.url}/blockchain`)).body;
    expect(legacy.blocks[0].height).toBe(0);
    const info = (await getJson(`${t.url}/info`)).body;
    expect(info).toMatchObject({ name: "lotchain", chainId: CHAIN });
    expect(Array.isArray((await getJson(`${t.url}/transactionPool`)).body)).toBe(true);
    expect((await getJson(`${t.url}/v1/mempool`)).body.transactions).toEqual([]);
    expect((await getJson(`${t.url}/v1/peers`)).body.peers).toEqual([]);
    const openapi = (await getJson(`${t.url}/openapi.json`)).body;
    expect(Object.keys(openapi.paths)).toContain("/v1/transactions");
    expect((await fetch(`${t.url}/docs`)).status).toBe(200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/lotchain_head_height \d+/);
    const page = await fetch(`${t.url}/`);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain("lotchain explorer");
  });

  it("accepts the seed's POST /transaction with 201", async () => {
    const body = { transaction: tx(alice, { to: bob.address, amount: 1n, nonce: 3 }) };
    const r = await postJson(`${t.url}/transaction`, body);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ message: expect.any(String), id: body.transaction.id });
    await included(body.transaction.id);
  });

  it("streams block and transaction events", async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.url}/v1/events`, { signal: controller.signal });
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const seen: string[] = [];
    const s = tx(alice, { to: bob.address, amount: 1n, nonce: 4 });
    const reading = (async () => {
      let text = "";
      while (!(seen.includes("transaction") && seen.includes("block"))) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
        for (const m of text.matchAll(/event: (\w+)\ndata: (.*)\n/g))
          if (!seen.includes(m[1]!)) seen.push(m[1]!);
      }
    })();
    expect((await postJson(`${t.url}/v1/transactions`, s)).status).toBe(202);
    await Promise.race([reading, new Promise((r) => setTimeout(r, 15_000))]);
    controller.abort();
    expect(seen).toContain("transaction");
    expect(seen).toContain("block");
  });
});

describe("bad requests get their status code and JSON error, and change nothing", () => {
  async function snapshot() {
    return {
      alice: await account(alice.address),
      mempool: (await getJson(`${t.url}/v1/mempool`)).body.transactions.length,
    };
  }

  async function expectRejected(
    r: { status: number; body: { error?: string; message?: string } },
    status: number,
    error?: string,
  ) {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(typeof r.body.error).toBe("string");
    expect(typeof r.body.message).toBe("string");
    if (error) expect(r.body.error).toBe(error);
  }

  it("rejects malformed and out-of-schema bodies with 400", async () => {
    const before = await snapshot();
    const good = tx(alice, { to: bob.address, amount: 1n, nonce: 99 });
    const bodies: unknown[] = [
      "{not json",
      "[]",
      "null",
      "42",
      JSON.stringify({ ...good, extra: 1 }),
      JSON.stringify({ ...good, amount: 5 }),
      JSON.stringify({ ...good, amount: "-5" }),
      JSON.stringify({ ...good, amount: "18446744073709551616" }),
      JSON.stringify({ ...good, nonce: "1" }),
      JSON.stringify({ ...good, type: "MINT" }),
      JSON.stringify({
        ...good,
        receiver: `${good.receiver.slice(0, -1)}${good.receiver.endsWith("q") ? "p" : "q"}`,
      }),
      JSON.stringify({ ...good, signature: "zz" }),
      JSON.stringify({ chainId: CHAIN }),
    ];
    for (const body of bodies) {
      const r = await postJson(`${t.url}/v1/transactions`, body, true);
      await expectRejected(r, 400);
    }
    await expectRejected(await postJson(`${t.url}/transaction`, { tx: good }), 400);
    expect(await snapshot()).toEqual(before);
  });

  it("rejects each invalid transaction with 422 and its reason", async () => {
    const before = await snapshot();
    const next = before.alice.pendingNonce;
    const sig = tx(alice, { to: bob.address, amount: 1n, nonce: next });
    const badSig = {
      ...sig,
      signature: `${sig.signature.slice(0, -1)}${sig.signature.endsWith("0") ? "1" : "0"}`,
    };
    delete (badSig as { id?: string }).id;
    const cases: [unknown, string][] = [
      [badSig, "InvalidSignature"],
      [
        tx(alice, { to: bob.address, amount: 1n, nonce: next, chainId: "other-chain" }),
        "WrongChain",
      ],
      [tx(alice, { to: bob.address, amount: 1n, nonce: 0 }), "NonceTooLow"],
      [tx(alice, { to: bob.address, amount: 1n, nonce: next + 500 }), "NonceGap"],
      [tx(alice, { to: bob.address, amount: 100_000n, nonce: next }), "InsufficientFunds"],
      [
        tx(alice, { type: "EXCHANGE", to: bob.address, amount: 5n, nonce: next }),
        "NotExchangeAuthority",
      ],
      [tx(alice, { to: bob.address, amount: 1n, fee: 0n, nonce: next }), "FeeTooLow"],
      [tx(alice, { to: bob.address, amount: 0n, nonce: next }), "BadAmount"],
      [
        tx(alice, { type: "STAKE", to: bob.address, amount: 1n, nonce: next }),
        "ReceiverMustBeSender",
      ],
      [tx(alice, { type: "UNSTAKE", amount: 1_000_000n, nonce: next }), "InsufficientStake"],
    ];
    for (const [body, code] of cases) {
      await expectRejected(await postJson(`${t.url}/v1/transactions`, body), 422, code);
    }
    const wrongId = { ...sig, id: "ab".repeat(32) };
    await expectRejected(await postJson(`${t.url}/v1/transactions`, wrongId), 422, "IdMismatch");
    expect(await snapshot()).toEqual(before);
  });

  it("answers duplicates with 409", async () => {
    const before = await snapshot();
    const s = tx(alice, { to: bob.address, amount: 1n, nonce: before.alice.pendingNonce });
    expect((await postJson(`${t.url}/v1/transactions`, s)).status).toBe(202);
    const again = await postJson(`${t.url}/v1/transactions`, s);
    await expectRejected(again, 409);
    await included(s.id);
    // Included now: submitting it again is still a duplicate, not a new transaction.
    await expectRejected(await postJson(`${t.url}/v1/transactions`, s), 409, "AlreadyIncluded");
  });

  it("answers oversized bodies with 413 and wrong media types with 415", async () => {
    const before = await snapshot();
    const big = JSON.stringify({ padding: "x".repeat(2 * 1024 * 1024) });
    await expectRejected(await postJson(`${t.url}/v1/transactions`, big, true), 413);
    const r = await fetch(`${t.url}/v1/transactions`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    await expectRejected(
      { status: r.status, body: (await r.json()) as { error?: string; message?: string } },
      415,
    );
    expect(await snapshot()).toEqual(before);
  });

  it("answers unknown ids with 404 and malformed ids with 400", async () => {
    await expectRejected(await getJson(`${t.url}/v1/transactions/${"ab".repeat(32)}`), 404);
    await expectRejected(await getJson(`${t.url}/v1/transactions/xyz`), 400);
    await expectRejected(await getJson(`${t.url}/v1/blocks/${"cd".repeat(32)}`), 404);
    await expectRejected(await getJson(`${t.url}/v1/blocks/999999`), 404);
    await expectRejected(await getJson(`${t.url}/v1/blocks/nope`), 400);
    await expectRejected(await getJson(`${t.url}/v1/accounts/lc1nothing`), 400);
    await expectRejected(await getJson(`${t.url}/v1/blocks?limit=5000`), 400);
    await expectRejected(await getJson(`${t.url}/blockchain?from=-1`), 400);
    await expectRejected(await getJson(`${t.url}/v1/nothing-here`), 404);
    const fresh = await account(testKey(99).address);
    expect(fresh).toMatchObject({ balance: "0", stake: "0", nonce: 0, pendingNonce: 0 });
  });
});

describe("rate limiting", () => {
  it("answers 429 with a JSON error once a client exceeds the POST limit, and changes nothing", async () => {
    const limited = await startTestNode({
      genesis: posGenesis({ validator: forger, alloc: { [alice.address]: "1000" } }),
      rateLimitPerSecond: 3,
    });
    try {
      const statuses: number[] = [];
      let lastBody: { error?: string; message?: string } = {};
      for (let nonce = 0; nonce < 8; nonce++) {
        const r = await postJson(
          `${limited.url}/v1/transactions`,
          tx(alice, { to: bob.address, amount: 1n, nonce }),
        );
        statuses.push(r.status);
        if (r.status === 429) lastBody = r.body;
      }
      expect(statuses).toContain(429);
      expect(lastBody.error).toBe("RateLimited");
      expect(typeof lastBody.message).toBe("string");
      const accepted = statuses.filter((s) => s === 202).length;
      const pool = (await getJson(`${limited.url}/v1/mempool`)).body.transactions;
      expect(pool).toHaveLength(accepted);
      // Reads are not limited.
      for (let i = 0; i < 10; i++)
        expect((await getJson(`${limited.url}/v1/status`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

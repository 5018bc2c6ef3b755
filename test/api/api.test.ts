import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_AMOUNT } from "../../src/core/amount.js";
import { parseGenesis } from "../../src/core/genesis.js";
import type { KeyPair } from "../../src/core/keys.js";
import { transactionToJson } from "../../src/core/transaction.js";
import {
  type Cluster,
  type ClusterNode,
  eventually,
  genesisJson,
  peers,
  useClusters,
} from "../helpers/cluster.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { REPO } from "../helpers/node-process.js";

/**
 * The REST API of real `lotchain node` processes on their network (127.0.0.1, port 0):
 * - `forger` holds the only validator key and forges;
 * - `full` (the node under test: no key, admin token) bootstraps to it, so what it is sent
 *   travels by gossip to the forger and comes back in blocks over the network;
 * - `lone` is a full node with no peers and no rate limit: its mempool never drains, which the
 *   mempool limits (SenderLimit, MempoolFull) need.
 * Every error answer is recorded, and the last test checks that every code the README documents
 * was reached over HTTP at least once.
 */

const CHAIN = "lotchain-apitest";
const TOKEN = "s3cret-token";
const forger = testKey(11);
const exchange = testKey(12);
const alice = testKey(13);
const bob = testKey(14);
const prober = testKey(15);
/** 65 funded senders for the mempool limits: 64 fill the pool (64 each), the 65th finds it full */
const senders = Array.from({ length: 65 }, (_, i) => testKey(100 + i));
const MEMPOOL_MAX = 4096;
const PER_SENDER_MAX = 64;

const clusters = useClusters("all");
let c: Cluster;
let forgerNode: ClusterNode;
let full: ClusterNode;
let lone: ClusterNode;

/** Error codes answered so far, with the statuses they came with. */
const reached = new Map<string, Set<number>>();

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function call(url: string, init?: RequestInit): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (res.status >= 400 && typeof body?.error === "string") {
    const statuses = reached.get(body.error) ?? new Set<number>();
    statuses.add(res.status);
    reached.set(body.error, statuses);
  }
  return { status: res.status, body, headers: res.headers };
}

const get = (node: ClusterNode, path: string) => call(`${node.apiUrl}${path}`);
const post = (node: ClusterNode, path: string, body: unknown, raw = false) =>
  call(`${node.apiUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: raw ? (body as string) : JSON.stringify(body),
  });

const tx = (from: KeyPair, spec: Parameters<typeof makeTx>[1]) =>
  transactionToJson(makeTx(from, { chainId: CHAIN, ...spec }));

async function account(node: ClusterNode, address: string) {
  return (await get(node, `/v1/accounts/${address}`)).body;
}

function included(node: ClusterNode, id: string) {
  return eventually(
    `inclusion of ${id} on ${node.name}`,
    async () => {
      const r = await get(node, `/v1/transactions/${id}`);
      return r.body?.status === "included" ? r.body : undefined;
    },
    30_000,
  );
}

function expectError(r: Answer, status: number, error?: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(Object.keys(r.body).sort(), JSON.stringify(r.body)).toEqual(["error", "message"]);
  expect(typeof r.body.message).toBe("string");
  if (error) expect(r.body.error).toBe(error);
}

beforeAll(async () => {
  c = clusters(
    genesisJson({
      chainId: CHAIN,
      consensus: { type: "pos", slotMs: 200, finalityDepth: 16 },
      validators: [[forger, 10]],
      exchange: [exchange],
      alloc: [
        [forger, 100],
        [alice, 1000],
        [bob, 1],
        [exchange, 100],
        [prober, 1000],
        ...senders.map((s) => [s, 1000] as [KeyPair, number]),
      ],
      minFee: 1,
    }),
  );
  forgerNode = await c.start("forger", { key: forger });
  [full, lone] = await Promise.all([
    c.start("full", { bootstrap: [forgerNode], adminToken: TOKEN }),
    c.start("lone", { extra: ["--rate-limit", "0"] }),
  ]);
  await eventually(
    "full connected to the forger",
    async () => (await peers(full)).includes(forgerNode.peerId),
    30_000,
  );
  // A transaction reaches the forger only once full knows the forger's subscription to the
  // transaction topic, which nothing announces: send a probe (to itself), replacing it with a
  // higher fee until one comes back in a block, so that what the tests send is gossiped.
  const probeIncluded = async () => (await account(full, prober.address)).nonce >= 1;
  for (let attempt = 0; !(await probeIncluded()); attempt++) {
    if (attempt > 8) throw new Error("no transaction sent to full ever reached the forger");
    const probe = tx(prober, {
      to: prober.address,
      amount: 1n,
      fee: 2n ** BigInt(attempt),
      nonce: 0,
    });
    await post(full, "/v1/transactions", probe);
    await eventually("a probe in a block", probeIncluded, 3_000).catch(() => undefined);
  }
});

afterAll(() => undefined); // the cluster is stopped by useClusters("all")

describe("a full node on a one-validator PoS network", () => {
  it("takes EXCHANGE, TRANSFER, STAKE and UNSTAKE; the forger includes them; balances come out right", async () => {
    const steps = [
      tx(exchange, { type: "EXCHANGE", to: bob.address, amount: 50n, fee: 1n, nonce: 0 }),
      tx(alice, { type: "TRANSFER", to: bob.address, amount: 100n, fee: 2n, nonce: 0 }),
      tx(alice, { type: "STAKE", amount: 300n, fee: 1n, nonce: 1 }),
      tx(alice, { type: "UNSTAKE", amount: 120n, fee: 1n, nonce: 2 }),
    ];
    const forgerBefore = BigInt((await account(full, forger.address)).balance);
    for (const s of steps) {
      const r = await post(full, "/v1/transactions", s);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      expect(r.body.id).toBe(s.id);
    }
    expect((await account(full, alice.address)).pendingNonce).toBe(3);
    for (const s of steps) {
      const inc = await included(full, s.id);
      expect(inc.height).toBeGreaterThan(0);
      expect(inc.blockHash).toMatch(/^[0-9a-f]{64}$/);
      // the block came from the forger, over the network
      const block = (await get(full, `/v1/blocks/${inc.blockHash}`)).body;
      expect(block.forger).toBe(Buffer.from(forger.publicKey).toString("hex"));
    }
    // The UNSTAKE unbonds: its 120 come back to the balance unbondingSlots after its block.
    const aliceNow = await account(full, alice.address);
    expect(aliceNow).toEqual({
      address: alice.address,
      balance: String(1000 - 102 - 301 - 1),
      stake: "180",
      nonce: 3,
      pendingNonce: 3,
      unbonding: [{ amount: "120", releaseSlot: expect.any(Number) }],
      slashed: false,
    });
    const unstaked = (await get(full, `/v1/blocks/${(await included(full, steps[3]!.id)).height}`))
      .body;
    const genesis = parseGenesis(JSON.parse(readFileSync(c.genesisFile, "utf8")));
    expect(aliceNow.unbonding[0].releaseSlot).toBe(
      unstaked.slot + (genesis.consensus as { unbondingSlots: number }).unbondingSlots,
    );
    expect((await account(full, bob.address)).balance).toBe("151");
    // Fees went to the forger: 1 + 2 + 1 + 1.
    expect(BigInt((await account(full, forger.address)).balance) - forgerBefore).toBe(5n);
    const validators = (await get(full, "/v1/validators")).body;
    expect(validators.totalStake).toBe("190");
    // the forger agrees
    expect(await account(forgerNode, alice.address)).toEqual(await account(full, alice.address));
  });

  it("lists an address's transactions newest first, with heights, page by page", async () => {
    const history = async (address: string, query = "") =>
      (await get(full, `/v1/accounts/${address}/transactions${query}`)).body;
    const all = (await history(alice.address)).transactions;
    expect(all.map((x: { type: string }) => x.type)).toEqual(["UNSTAKE", "STAKE", "TRANSFER"]);
    for (const x of all) {
      expect(x.height).toBeGreaterThan(0);
      expect(x.blockHash).toMatch(/^[0-9a-f]{64}$/);
      expect((await get(full, `/v1/transactions/${x.id}`)).body.height).toBe(x.height);
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
    expectError(await get(full, "/v1/accounts/lc1nope/transactions"), 400);
    expectError(await get(full, `/v1/accounts/${alice.address}/transactions?limit=0`), 400);
    expectError(await get(full, `/v1/accounts/${alice.address}/transactions?before=xyz`), 400);
    const mint = bobs.find((x: { type: string }) => x.type === "EXCHANGE").id;
    expectError(await get(full, `/v1/accounts/${alice.address}/transactions?before=${mint}`), 404);
  });

  it("serves blocks, status with its peer, the seed's routes and the docs", async () => {
    const status = (await get(full, "/v1/status")).body;
    expect(status).toMatchObject({ chainId: CHAIN, consensus: "pos", syncing: false });
    expect(status.height).toBeGreaterThan(0);
    expect(status.peers).toBeGreaterThanOrEqual(1);
    expect(status.listenAddresses[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//);
    const head = (await get(full, "/v1/blocks/head")).body;
    expect(head.height).toBeGreaterThanOrEqual(status.height);
    expect(head.slot).toBeGreaterThan(0);
    expect(head.randomness).toMatch(/^[0-9a-f]{128}$/);
    expect(head.vrfProof).toMatch(/^[0-9a-f]{160}$/);
    const byHeight = (await get(full, `/v1/blocks/${status.height}`)).body;
    expect(byHeight.height).toBe(status.height);
    const byHash = (await get(full, `/v1/blocks/${byHeight.hash}`)).body;
    expect(byHash.height).toBe(status.height);
    expect((await get(full, "/v1/blocks/genesis")).body.height).toBe(0);
    expect((await get(full, "/v1/blocks/finalized")).status).toBe(200);
    const defaults = (await get(full, "/v1/blocks?from=&limit=")).body;
    expect(defaults.blocks[0].height).toBe(0);
    const range = (await get(full, "/v1/blocks?from=0&limit=2")).body;
    expect(range.blocks.map((b: { height: number }) => b.height)).toEqual([0, 1]);
    expect((await get(full, "/blockchain")).body.blocks[0].height).toBe(0);
    expect((await get(full, "/info")).body).toMatchObject({ name: "lotchain", chainId: CHAIN });
    expect(Array.isArray((await get(full, "/transactionPool")).body)).toBe(true);
    expect((await get(full, "/v1/mempool")).body.transactions).toEqual([]);
    const peerList = (await get(full, "/v1/peers")).body.peers;
    expect(peerList.map((p: { peerId: string }) => p.peerId)).toContain(forgerNode.peerId);
    const openapi = (await get(full, "/openapi.json")).body;
    expect(Object.keys(openapi.paths)).toContain("/v1/transactions");
    expect((await fetch(`${full.apiUrl}/docs`)).status).toBe(200);
    const metrics = await (await fetch(`${full.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/lotchain_head_height \d+/);
    const page = await fetch(`${full.apiUrl}/`);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain("lotchain explorer");
  });

  it("accepts the seed's POST /transaction with 201", async () => {
    const body = { transaction: tx(alice, { to: bob.address, amount: 1n, nonce: 3 }) };
    const r = await post(full, "/transaction", body);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ message: expect.any(String), id: body.transaction.id });
    await included(full, body.transaction.id);
  });

  it("streams the transaction and the block that includes it", async () => {
    const controller = new AbortController();
    const res = await fetch(`${full.apiUrl}/v1/events`, { signal: controller.signal });
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const s = tx(alice, { to: bob.address, amount: 1n, nonce: 4 });
    let text = "";
    const blockWith = (id: string) =>
      [...text.matchAll(/event: block\ndata: (.*)\n/g)].some((m) => m[1]!.includes(id));
    const reading = (async () => {
      while (!(text.includes("event: transaction") && blockWith(s.id))) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    expect((await post(full, "/v1/transactions", s)).status).toBe(202);
    try {
      await reading;
    } finally {
      controller.abort();
    }
    expect(text).toContain(s.id);
    expect(blockWith(s.id)).toBe(true);
  });
});

describe("bad requests get their status code and JSON error, and change nothing", () => {
  async function snapshot(node = full) {
    return {
      alice: await account(node, alice.address),
      mempool: (await get(node, "/v1/mempool")).body.transactions.length,
    };
  }

  it("rejects malformed and out-of-schema bodies with 400", async () => {
    const before = await snapshot();
    const good = tx(alice, { to: bob.address, amount: 1n, nonce: 99 });
    const bodies: string[] = [
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
    for (const body of bodies) expectError(await post(full, "/v1/transactions", body, true), 400);
    expectError(await post(full, "/transaction", { tx: good }), 400);
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
      [{ ...sig, id: "ab".repeat(32) }, "IdMismatch"],
    ];
    for (const [body, code] of cases)
      expectError(await post(full, "/v1/transactions", body), 422, code);
    expect(await snapshot()).toEqual(before);
  });

  it("answers duplicates with 409, pending (Duplicate) and included (AlreadyIncluded)", async () => {
    const before = await snapshot();
    const s = tx(alice, { to: bob.address, amount: 1n, nonce: before.alice.pendingNonce });
    expect((await post(full, "/v1/transactions", s)).status).toBe(202);
    expectError(await post(full, "/v1/transactions", s), 409, "Duplicate");
    await included(full, s.id);
    expectError(await post(full, "/v1/transactions", s), 409, "AlreadyIncluded");
  });

  it("answers oversized bodies with 413 and wrong media types with 415", async () => {
    const before = await snapshot();
    const big = JSON.stringify({ padding: "x".repeat(2 * 1024 * 1024) });
    expectError(await post(full, "/v1/transactions", big, true), 413, "PayloadTooLarge");
    const r = await call(`${full.apiUrl}/v1/transactions`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    expectError(r, 415, "UnsupportedMediaType");
    expect(await snapshot()).toEqual(before);
  });

  it("answers unknown ids with 404 and malformed ids with 400", async () => {
    expectError(await get(full, `/v1/transactions/${"ab".repeat(32)}`), 404, "NotFound");
    expectError(await get(full, "/v1/transactions/xyz"), 400);
    expectError(await get(full, `/v1/blocks/${"cd".repeat(32)}`), 404);
    expectError(await get(full, "/v1/blocks/999999"), 404);
    expectError(await get(full, "/v1/blocks/nope"), 400);
    expectError(await get(full, "/v1/accounts/lc1nothing"), 400, "BadRequest");
    expectError(await get(full, "/v1/blocks?limit=5000"), 400);
    expectError(await get(full, "/blockchain?from=-1"), 400);
    expectError(await get(full, "/v1/nothing-here"), 404);
    const fresh = await account(full, testKey(99).address);
    expect(fresh).toMatchObject({ balance: "0", stake: "0", nonce: 0, pendingNonce: 0 });
  });

  it("refuses a mint past the supply cap, the last stake, and an underpriced replacement", async () => {
    const before = await snapshot(lone);
    // bob holds 1: an EXCHANGE of 2^64 - 1 more passes the cap (and would overflow his balance:
    // the cap, at most 2^64 - 1, is what keeps every balance in range, so BalanceOverflow is a
    // guard no client can reach)
    const overflow = tx(exchange, {
      type: "EXCHANGE",
      to: bob.address,
      amount: MAX_AMOUNT,
      nonce: 0,
    });
    expectError(await post(lone, "/v1/transactions", overflow), 422, "SupplyCapExceeded");
    // the forger's 10 are all the stake there is: Proof of Stake needs a validator
    const lastStake = tx(forger, { type: "UNSTAKE", amount: 10n, nonce: 0 });
    expectError(await post(lone, "/v1/transactions", lastStake), 422, "LastStake");
    expect(await snapshot(lone)).toEqual(before);

    const first = tx(senders[0]!, { to: bob.address, amount: 5n, fee: 2n, nonce: 0 });
    expect((await post(lone, "/v1/transactions", first)).status).toBe(202);
    const same = tx(senders[0]!, { to: bob.address, amount: 6n, fee: 2n, nonce: 0 });
    expectError(await post(lone, "/v1/transactions", same), 409, "ReplacementUnderpriced");
    expect((await get(lone, "/v1/mempool")).body.transactions.map((t: any) => t.id)).toEqual([
      first.id,
    ]);
  });

  it("caps each sender's pending transactions (SenderLimit) and the pool (MempoolFull)", async () => {
    // senders[0] has nonce 0 pending; nonces 1..63 fill its share of the pool
    const submitAll = async (txs: ReturnType<typeof tx>[]) => {
      const statuses: number[] = [];
      for (let i = 0; i < txs.length; i += 32)
        statuses.push(
          ...(await Promise.all(
            txs.slice(i, i + 32).map(async (t) => (await post(lone, "/v1/transactions", t)).status),
          )),
        );
      return statuses;
    };
    const own = Array.from({ length: PER_SENDER_MAX - 1 }, (_, n) =>
      tx(senders[0]!, { to: bob.address, amount: 1n, nonce: n + 1 }),
    );
    for (const t of own) expect((await post(lone, "/v1/transactions", t)).status).toBe(202);
    const over = tx(senders[0]!, { to: bob.address, amount: 1n, nonce: PER_SENDER_MAX });
    expectError(await post(lone, "/v1/transactions", over), 422, "SenderLimit");

    // 63 more senders fill the pool to 4,096, fee 1 each
    const rest = senders
      .slice(1, MEMPOOL_MAX / PER_SENDER_MAX)
      .flatMap((s) =>
        Array.from({ length: PER_SENDER_MAX }, (_, n) =>
          tx(s, { to: bob.address, amount: 1n, nonce: n }),
        ),
      );
    const statuses = await submitAll(rest);
    expect(statuses.filter((s) => s !== 202)).toEqual([]);
    expect((await get(lone, "/v1/status")).body.mempoolSize).toBe(MEMPOOL_MAX);
    // a newcomer that outranks nobody finds the pool full, and changes nothing
    const late = tx(senders[64]!, { to: bob.address, amount: 1n, fee: 1n, nonce: 0 });
    expectError(await post(lone, "/v1/transactions", late), 422, "MempoolFull");
    expect((await get(lone, "/v1/status")).body.mempoolSize).toBe(MEMPOOL_MAX);
    expect((await get(lone, `/v1/transactions/${late.id}`)).status).toBe(404);
  });

  it("rate-limits POSTs per client with 429, and the refused ones change nothing", async () => {
    const limited = await c.start("limited", { extra: ["--rate-limit", "3"] });
    try {
      // Sent at once: at most a few fit in the limit's one-second window.
      const txs = Array.from({ length: 12 }, (_, nonce) =>
        tx(alice, { to: bob.address, amount: 1n, nonce }),
      );
      const answers = await Promise.all(txs.map((t) => post(limited, "/v1/transactions", t)));
      const refused = answers.filter((a) => a.status === 429);
      expect(refused.length).toBeGreaterThan(0);
      for (const a of refused) expectError(a, 429, "RateLimited");
      const accepted = answers.filter((a) => a.status === 202).map((a) => a.body.id);
      const pool = (await get(limited, "/v1/mempool")).body.transactions.map((t: any) => t.id);
      expect(pool.sort()).toEqual(accepted.sort());
      // Reads are not limited.
      for (let i = 0; i < 10; i++) expect((await get(limited, "/v1/status")).status).toBe(200);
    } finally {
      await c.stop(limited);
    }
  });
});

describe("admin routes", () => {
  const adminPost = (path: string, headers: Record<string, string>) =>
    call(`${full.apiUrl}${path}`, { method: "POST", headers });

  it("refuse every protected route without the right Bearer token, and change nothing", async () => {
    const openapi = (await get(full, "/openapi.json")).body;
    const routes = Object.entries(openapi.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith("/v1/admin/"))
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => [m, path] as const));
    expect(routes.length).toBeGreaterThanOrEqual(2);
    const wrong: Record<string, string>[] = [
      {},
      { authorization: TOKEN },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: "Bearer " },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `bearer${TOKEN}` },
      { authorization: "Bearer wrong-token-of-another-length" },
    ];
    for (const [method, template] of routes) {
      expect(method).toBe("post");
      const path = template.replace("{peerId}", forgerNode.peerId);
      for (const headers of wrong) expectError(await adminPost(path, headers), 401, "Unauthorized");
    }
    // nothing was banned: the forger is still a peer
    expect(await peers(full)).toContain(forgerNode.peerId);
  });

  it("ban and unban a peer with the token", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expectError(await adminPost("/v1/admin/peers/not-a-peer-id/ban", auth), 400);
    expectError(await adminPost("/v1/admin/peers/not-a-peer-id/unban", auth), 400);
    const ban = await adminPost(`/v1/admin/peers/${forgerNode.peerId}/ban`, auth);
    expect(ban).toMatchObject({ status: 200, body: { peerId: forgerNode.peerId, banned: true } });
    await eventually(
      "the forger disconnected",
      async () => !(await peers(full)).includes(forgerNode.peerId),
      15_000,
    );
    const unban = await adminPost(`/v1/admin/peers/${forgerNode.peerId}/unban`, auth);
    expect(unban).toMatchObject({
      status: 200,
      body: { peerId: forgerNode.peerId, unbanned: true },
    });
    await eventually(
      "the forger reconnected",
      async () => (await peers(full)).includes(forgerNode.peerId),
      15_000,
    );
  });

  it("are off on a node started without --admin-token", async () => {
    const r = await call(`${lone.apiUrl}/v1/admin/peers/${forgerNode.peerId}/ban`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(r.status).toBe(404);
  });
});

describe("the README's error codes", () => {
  it("were each answered over HTTP, here or in another test of test/api", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const tableStart = readme.indexOf("| status | `error`");
    expect(tableStart, "the README's table of error codes").toBeGreaterThan(0);
    const table = readme.slice(tableStart, readme.indexOf("\n\n", tableStart));
    const documented = new Set<string>();
    for (const row of table.split("\n").filter((r) => /^\| \d{3} /.test(r))) {
      const codes = row.split("|")[2]!;
      for (const m of codes.matchAll(/`([A-Z][A-Za-z]+)`/g)) documented.add(m[1]!);
    }
    expect(documented.size).toBeGreaterThanOrEqual(30);
    // Codes this file does not reach (the HTTP parser's and the server's limits, shutdown) must
    // be named, as a string literal, in another test of test/api that sends the request.
    const others = readdirSync(join(REPO, "test", "api"))
      .filter((f) => f.endsWith(".test.ts") && f !== "api.test.ts")
      .map((f) => readFileSync(join(REPO, "test", "api", f), "utf8"))
      .join("\n");
    const elsewhere = (code: string) => others.includes(`"${code}"`);
    const missing = [...documented].filter((code) => !reached.has(code) && !elsewhere(code));
    expect(missing, "documented codes no test answers over HTTP").toEqual([]);
    const undocumented = [...reached.keys()].filter((code) => !documented.has(code));
    expect(undocumented, "codes answered over HTTP that the README does not list").toEqual([]);
  });
});

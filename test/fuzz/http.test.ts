import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchResult } from "../../src/api/routes/batch.js";
import { transactionToJson } from "../../src/core/transaction.js";
import { startTestNode, type TestNode } from "../api/api-fixture.js";
import { checkStoreByReplay } from "../crash/replay.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson, postJson, waitFor } from "../helpers/node-process.js";
import {
  DOCUMENTED_CODES,
  formatViolation,
  type RawResponse,
  rawRequest,
} from "../helpers/raw-http.js";
import { buildTx, txSpecArb } from "./arbitraries.js";
import { fuzz, jsonish } from "./fuzz.js";

/**
 * Hostile HTTP over raw sockets against a real forging node (chain on LevelDB, mempool, API):
 * request lines, targets, headers and bodies no HTTP library would send, and structure-aware
 * transactions (valid ones among them) posted as a wallet would. Properties: every answer is in
 * the documented format with a documented code, no 5xx, the node keeps serving and forging, a
 * refused transaction is nowhere (not pending, not included), and when it stops its store equals
 * an independent replay of its chain.
 */
const FILE = "test/fuzz/http.test.ts";
const CHAIN = "lotchain-fuzzhttp";
const forger = testKey(61);
const exchange = testKey(62);
// Senders and receivers of the fuzzed transactions; not the forger: its UNSTAKE of everything,
// once others have staked, is valid, and would leave every slot to keys without a node.
const keys = [testKey(63), testKey(64), testKey(65), exchange];
/** Sends the last transfer, after the fuzzing: its queue is empty whatever the fuzzer did. */
const witness = testKey(66);
const U64_MAX = (1n << 64n) - 1n;

const genesis = {
  chainId: CHAIN,
  timestamp: Date.now() - 1000,
  consensus: { type: "pos", slotMs: 100, finalityDepth: 16 },
  alloc: {
    [keys[0]!.address]: "1000000",
    [keys[1]!.address]: String(1n << 60n),
    [keys[2]!.address]: String(1n << 60n),
    [exchange.address]: "1000000",
    [witness.address]: "1000",
  },
  // The only key that forges holds most of the stake whatever the fuzzer stakes (keys without a
  // node that win slots leave them empty: the chain would slow down by design, not by a defect).
  validators: { [forger.address]: String(1n << 63n) },
  exchange: [exchange.address],
  blockReward: "1",
  minFee: "1",
  maxSupply: String(U64_MAX),
};

let t: TestNode;
let port: number;

beforeAll(async () => {
  t = await startTestNode({
    genesis,
    key: forger,
    apiLimits: {
      // Bodies cut short end at once (the client half-closes), but a stall must not take 30 s.
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 1_500,
      timeoutCheckIntervalMs: 250,
      getRatePerSecond: 0,
    },
  });
  port = Number(new URL(t.url).port);
});

afterAll(async () => {
  await t?.close();
});

const ROUTES = [
  "/info",
  "/blockchain",
  "/transactionPool",
  "/transaction",
  "/v1/status",
  "/v1/blocks",
  "/v1/blocks/{id}",
  "/v1/transactions",
  "/v1/transactions/batch",
  "/v1/transactions/{id}",
  "/v1/accounts/{address}",
  "/v1/accounts/{address}/transactions",
  "/v1/validators",
  "/v1/peers",
  "/v1/mempool",
  "/v1/events",
  "/v1/chain/tree",
  "/v1/lottery",
  "/v1/search",
  "/v1/network",
  "/metrics",
  "/openapi.json",
  "/docs",
  "/docs/static/{file}",
  "/explorer/{file}",
  "/vendor/{file}",
  "/block/{id}",
  "/",
  "*",
  "http://evil.example/v1/status",
  "/v1/admin/peers/{id}/ban",
];

const segment = fc.oneof(
  fc.constantFrom(
    "0",
    "1",
    "head",
    "genesis",
    "finalized",
    "ab".repeat(32),
    "%2e%2e",
    "..",
    "..%2f..%2fpackage.json",
    "%00",
    "%",
    "%zz",
    "index.html",
    "swagger-ui.css",
    keys[0]!.address,
    "lc1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
    "x".repeat(300),
  ),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.stringMatching(/^[0-9a-f]{1,70}$/),
);
const queryValue = fc.oneof(
  fc.constantFrom(
    "0",
    "1",
    "10",
    "1000",
    "1001",
    "-1",
    "1e1",
    "0x10",
    "Infinity",
    "1000.0",
    "%201",
    "",
    "9".repeat(30),
  ),
  jsonish.map((v) => encodeURIComponent(String(v))),
);
const target = fc
  .tuple(
    fc.constantFrom(...ROUTES),
    segment,
    fc.array(
      fc.tuple(
        fc.constantFrom(
          "from",
          "limit",
          "before",
          "depth",
          "slots",
          "q",
          "x",
          "from[]",
          "__proto__",
        ),
        queryValue,
      ),
      { maxLength: 3 },
    ),
  )
  .map(([route, seg, query]) => {
    const path = route.replace(/\{[a-z]+\}/, seg);
    return query.length === 0 ? path : `${path}?${query.map(([k, v]) => `${k}=${v}`).join("&")}`;
  });

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("GET", "POST") },
  fc.constantFrom(
    "HEAD",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "TRACE",
    "PROPFIND",
    "get",
    "G ET",
    "CONNECT",
  ),
  fc.stringMatching(/^[A-Z]{1,12}$/),
);
const version = fc.oneof(
  { weight: 8, arbitrary: fc.constant("HTTP/1.1") },
  fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "", "HTTP/0.9", "http/1.1"),
);
const header = fc.oneof(
  fc.constantFrom(
    "Content-Type: application/json",
    "Content-Type: application/json; charset=utf-8",
    "Content-Type: application/json; charset=latin1",
    "Content-Type: text/plain",
    "Content-Type: ;;;",
    "Content-Encoding: gzip",
    "Content-Encoding: identity",
    "Transfer-Encoding: chunked",
    "Transfer-Encoding: gzip, chunked",
    "Content-Length: 5",
    "Content-Length: -1",
    "Content-Length: 99999999999",
    "Expect: 100-continue",
    "Expect: 200-ok",
    "Connection: close",
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Accept-Encoding: gzip",
    "If-None-Match: *",
    "Authorization: Bearer x",
    "Host: x",
    "X-Forwarded-For: 1.2.3.4",
  ),
  fc
    .tuple(fc.stringMatching(/^[A-Za-z-]{1,20}$/), fc.string({ maxLength: 60 }))
    .map(([k, v]) => `${k}: ${v}`),
  fc.constant(`X-Big: ${"a".repeat(20_000)}`),
);

const body = fc.oneof(
  { weight: 4, arbitrary: txSpecArb.map((spec) => ({ kind: "tx" as const, spec })) },
  fc.record({
    kind: fc.constant("batch" as const),
    items: fc.array(fc.oneof({ weight: 4, arbitrary: txSpecArb }, jsonish), { maxLength: 12 }),
  }),
  fc.record({ kind: fc.constant("json" as const), value: jsonish }),
  fc.record({ kind: fc.constant("bytes" as const), bytes: fc.uint8Array({ maxLength: 400 }) }),
  fc.constant({ kind: "none" as const }),
);

const hostile = fc.record({
  method,
  target,
  version,
  host: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, fc.constant(false)),
  headers: fc.array(header, { maxLength: 4 }),
  body,
  length: fc.constantFrom(
    "right" as const,
    "right" as const,
    "right" as const,
    "short" as const,
    "long" as const,
    "none" as const,
  ),
});

/** A wallet's post: a structure-aware transaction to /v1/transactions, done right. */
const walletPost = txSpecArb.map((spec) => ({ spec }));
/** A wallet's batch: 1 to 20 of them to /v1/transactions/batch. */
const walletBatch = fc
  .array(txSpecArb, { minLength: 1, maxLength: 20 })
  .map((specs) => ({ specs }));

const figures = {
  requests: 0,
  refusedTransactions: 0,
  acceptedTransactions: 0,
  closedWithoutAnswer: 0,
};

function render(
  h: typeof hostile extends fc.Arbitrary<infer T> ? T : never,
  bodyBytes: Buffer,
): Buffer {
  const lines = [`${h.method} ${h.target}${h.version ? ` ${h.version}` : ""}`];
  if (h.host) lines.push("Host: fuzz");
  lines.push(...h.headers);
  const declared =
    h.length === "right"
      ? bodyBytes.length
      : h.length === "short"
        ? Math.max(0, bodyBytes.length - 3)
        : h.length === "long"
          ? bodyBytes.length + 10
          : undefined;
  if (declared !== undefined && (bodyBytes.length > 0 || h.method === "POST"))
    lines.push(`Content-Length: ${declared}`);
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), bodyBytes]);
}

const context = () => ({
  chainId: CHAIN,
  keys,
  nextNonce: (address: string) => t.node.mempool.pendingNonce(address),
  now: Date.now(),
});

async function checkRefusedIsNowhere(id: string, r: RawResponse) {
  if (r.status === 202 || r.status === 201 || r.status === 409 || r.status === 0) return;
  figures.refusedTransactions++;
  const found = await getJson(`${t.url}/v1/transactions/${id}`);
  expect(found.status, `refused (${r.status} ${r.body}) yet found`).toBe(404);
}

function isSpec(item: unknown): item is Parameters<typeof buildTx>[0] {
  return typeof item === "object" && item !== null && "signing" in item && "nonce" in item;
}

/** A batch answer: one result a transaction, each in the documented format, refusals nowhere. */
async function checkBatchAnswer(text: string) {
  const { results } = JSON.parse(text) as { results: BatchResult[] };
  for (const result of results) {
    if (result.status >= 400) {
      expect(DOCUMENTED_CODES.has(result.error ?? ""), JSON.stringify(result)).toBe(true);
      expect(typeof result.message).toBe("string");
    }
    expect(result.status, JSON.stringify(result)).toBeLessThan(500);
    if (result.id)
      await checkRefusedIsNowhere(result.id, {
        status: result.status,
        headers: {},
        body: "",
        closed: false,
      });
  }
}

describe("fuzz: hostile HTTP against a forging node", () => {
  it("raw requests and wallet posts are answered in the documented format", async () => {
    await fuzz(
      "hostile HTTP",
      FILE,
      fc.asyncProperty(fc.oneof(hostile, walletPost, walletBatch), async (input) => {
        figures.requests++;
        if ("specs" in input) {
          const transactions = input.specs
            .map((spec) => buildTx(spec, context()))
            .filter((tx) => tx !== undefined)
            .map(transactionToJson);
          if (transactions.length === 0) return true;
          const r = await postJson(`${t.url}/v1/transactions/batch`, { transactions });
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          expect(r.body.results).toHaveLength(transactions.length);
          await checkBatchAnswer(JSON.stringify(r.body));
          return true;
        }
        if ("spec" in input) {
          const tx = buildTx(input.spec, context());
          if (!tx) return true;
          const r = await postJson(`${t.url}/v1/transactions`, transactionToJson(tx));
          const raw: RawResponse = {
            status: r.status,
            headers: { "content-type": "application/json" },
            body: JSON.stringify(r.body),
            closed: false,
          };
          expect(formatViolation(raw), JSON.stringify(r.body)).toBeUndefined();
          if (r.status === 202) figures.acceptedTransactions++;
          await checkRefusedIsNowhere(tx.id, raw);
          return true;
        }
        let bodyBytes: Buffer;
        let txId: string | undefined;
        if (input.body.kind === "tx") {
          const tx = buildTx(input.body.spec, context());
          txId = tx?.id;
          bodyBytes = Buffer.from(tx ? JSON.stringify(transactionToJson(tx)) : "{}");
        } else if (input.body.kind === "batch") {
          const transactions = input.body.items.map((item) => {
            if (!isSpec(item)) return item;
            const tx = buildTx(item, context());
            return tx ? transactionToJson(tx) : null;
          });
          bodyBytes = Buffer.from(JSON.stringify({ transactions }));
        } else if (input.body.kind === "json")
          bodyBytes = Buffer.from(JSON.stringify(input.body.value) ?? "null");
        else if (input.body.kind === "bytes") bodyBytes = Buffer.from(input.body.bytes);
        else bodyBytes = Buffer.alloc(0);
        const head = input.method === "HEAD";
        // A body declared longer than it is: our side closes, so that the server sees it cut
        // short at once (node:http then drops the request: nothing to answer). Every other
        // request is whole, or malformed, and gets an answer.
        const cut = input.length === "long" && (bodyBytes.length > 0 || input.method === "POST");
        const r = await rawRequest(port, render(input, bodyBytes), {
          head,
          halfClose: cut,
          timeoutMs: 20_000,
        });
        if (r.status === 0) figures.closedWithoutAnswer++;
        if (!cut)
          expect(
            r.status,
            `no answer to ${render(input, bodyBytes).toString("latin1").slice(0, 300)}`,
          ).not.toBe(0);
        expect(
          formatViolation(r, head),
          `${input.method} ${input.target} → ${r.status} ${r.body.slice(0, 300)}`,
        ).toBeUndefined();
        if (r.status === 200 && input.target.startsWith("/v1/transactions/batch") && !head)
          await checkBatchAnswer(r.body);
        if (txId && input.target.startsWith("/v1/transactions"))
          await checkRefusedIsNowhere(txId, r);
        return true;
      }),
      { budgetMs: 20_000, shrink: false, counters: () => ({ ...figures }) },
    );
  });

  it("keeps forging, keeps its supply, and its store equals an independent replay", async () => {
    // A transfer sent now is included: nothing any request did stopped the chain.
    const tx = makeTx(witness, {
      chainId: CHAIN,
      to: keys[1]!.address,
      nonce: 0,
      timestamp: Date.now(),
    });
    const r = await postJson(`${t.url}/v1/transactions`, transactionToJson(tx));
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const startHeight = t.node.chain.head.height;
    await waitFor(
      async () => (await getJson(`${t.url}/v1/transactions/${tx.id}`)).body.status === "included",
      60_000,
      "a transfer to be included after the fuzzing",
    ).catch(async (e) => {
      const validators = (await getJson(`${t.url}/v1/validators`)).body;
      throw new Error(
        `${(e as Error).message}: height ${startHeight} → ${t.node.chain.head.height}, ` +
          `mempool ${JSON.stringify(t.node.mempool.stats())}, validators ${JSON.stringify(validators)}`,
      );
    });
    expect(t.node.chain.totalSupply()).toBe(t.node.chain.expectedSupply());
    const { dataDir } = t;
    const { parseGenesis } = await import("../../src/core/genesis.js");
    await t.node.stop();
    const report = await checkStoreByReplay(dataDir, parseGenesis(genesis));
    console.log(
      `fuzz HTTP: replayed ${report.height} blocks, ${report.mainTransactions} transactions`,
    );
    expect(report.height).toBeGreaterThan(0);
  });
});

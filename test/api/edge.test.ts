import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { transactionToJson } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson } from "../helpers/node-process.js";
import { formatViolation, type RawResponse, rawRequest } from "../helpers/raw-http.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

/**
 * The edges of the API below and around the routes (issue 13, items 2 and 3): what node:http,
 * Fastify's router and its plugins answer on their own now answers in the documented format, and
 * numbers and encodings are read strictly.
 */
const forger = testKey(31);
const alice = testKey(32);
const CHAIN = "lotchain-apitest";

let t: TestNode;
let port: number;

beforeAll(async () => {
  t = await startTestNode({
    genesis: posGenesis({ validator: forger, alloc: { [alice.address]: "1000" } }),
  });
  port = Number(new URL(t.url).port);
});

afterAll(async () => {
  await t?.close();
});

const send = (request: string | Buffer | (string | Buffer)[], head = false) =>
  rawRequest(port, request, { head });

function expectError(r: RawResponse, status: number, code: string) {
  expect(formatViolation(r), r.body).toBeUndefined();
  expect(r.status, r.body).toBe(status);
  expect(JSON.parse(r.body).error).toBe(code);
}

const get = (target: string, headers = "Host: x\r\n") =>
  send(`GET ${target} HTTP/1.1\r\n${headers}\r\n`);

function post(headers: Record<string, string>, body: string) {
  const lines = Object.entries({
    host: "x",
    "content-length": String(Buffer.byteLength(body)),
    ...headers,
  })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return send(`POST /v1/transactions HTTP/1.1\r\n${lines}\r\n${body}`);
}

describe("errors raised below the routes answer { error, message } with a documented code", () => {
  it("a request without Host (HTTP/1.1), and HTTP/1.0 without it is fine", async () => {
    expectError(await get("/v1/status", ""), 400, "BadRequest");
    const old = await send("GET /v1/status HTTP/1.0\r\n\r\n");
    expect(old.status).toBe(200);
  });

  it("an Expect other than 100-continue gets 417; 100-continue goes on", async () => {
    expectError(await get("/v1/status", "Host: x\r\nExpect: 200-ok\r\n"), 417, "ExpectationFailed");
    const r = await post({ "content-type": "application/json", expect: "100-continue" }, "{}");
    expectError(r, 400, "BadRequest");
  });

  it("requests the HTTP parser refuses: garbage, unknown methods, smuggling, bad lengths", async () => {
    for (const request of [
      "HELLO\r\n\r\n",
      "FOO / HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /v1/status\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
      "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
      "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    ]) {
      const r = await send(request);
      expectError(r, 400, "BadRequest");
      expect(r.closed, JSON.stringify(request)).toBe(true);
    }
  });

  it("headers over the size limit get 431, a target over the length limit 414", async () => {
    expectError(
      await get("/", `Host: x\r\nX-Big: ${"a".repeat(20_000)}\r\n`),
      431,
      "HeadersTooLarge",
    );
    expectError(await get(`/${"a".repeat(20_000)}`), 431, "HeadersTooLarge");
    expectError(await get(`/v1/status?x=${"a".repeat(5_000)}`), 414, "UriTooLong");
    // Past the router's parameter length too: the length is what the client is told about.
    expectError(await get(`/v1/blocks/${"a".repeat(5_000)}`), 414, "UriTooLong");
  });

  it("messages quote the client's input only briefly", async () => {
    const r = await get(`/v1/blocks/${"a".repeat(3_000)}`);
    expectError(r, 400, "BadRequest");
    expect(JSON.parse(r.body).message.length).toBeLessThan(260);
  });

  it("static files: traversal and missing files are 404", async () => {
    for (const target of [
      "/docs/static/../../package.json",
      "/docs/static/%2e%2e/%2e%2e/package.json",
      "/docs/static/..%2f..%2fpackage.json",
      "/docs/static/nothing.js",
    ])
      expectError(await get(target), 404, "NotFound");
    expect((await get("/docs/static/index.css")).status).toBe(200);
  });

  it("unsupported methods get 405 with Allow, CONNECT too; unknown paths 404", async () => {
    for (const method of ["PATCH", "DELETE", "PUT", "OPTIONS", "TRACE", "PROPFIND"]) {
      const r = await send(`${method} /v1/status HTTP/1.1\r\nHost: x\r\n\r\n`);
      expectError(r, 405, "MethodNotAllowed");
      expect(r.headers.allow).toBe("GET, HEAD");
    }
    const put = await send("PUT /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    expectError(put, 405, "MethodNotAllowed");
    expect(put.headers.allow).toBe("POST");
    const connect = await send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    expectError(connect, 405, "MethodNotAllowed");
    expectError(await get("/v1/nothing"), 404, "NotFound");
    const head = await send("HEAD /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n", true);
    expect(head.status).toBe(404);
    // HEAD of the event stream: its head at once, not a stream that never flushes.
    const events = await send("HEAD /v1/events HTTP/1.1\r\nHost: x\r\n\r\n", true);
    expect(events.status).toBe(200);
    expect(events.headers["content-type"]).toMatch(/^text\/event-stream/);
  });
});

describe("numbers and encodings are read strictly", () => {
  it("query integers are decimal and in range, or 400", async () => {
    for (const query of [
      "from=Infinity",
      "from=1e400",
      "from=0x10",
      "limit=1e1",
      "from=%201",
      "from=1%20",
      "limit=1000.0",
      "from=-1",
      "from=01",
      "from=+1",
      "from=-0",
      "from=1&from=2",
      "from=99999999999999999",
      "limit=0",
      "limit=1001",
      "from=NaN",
      "from=true",
      "limit[]=1",
    ])
      for (const path of ["/v1/blocks", "/blockchain"])
        expectError(await get(`${path}?${query}`), 400, "BadRequest");
    const ok = await getJson(`${t.url}/v1/blocks?from=0&limit=1000`);
    expect(ok.status).toBe(200);
    expect(ok.body.blocks[0].height).toBe(0);
  });

  it("a body with a Content-Encoding other than identity is a 415", async () => {
    for (const encoding of ["gzip", "br", "deflate", "x-made-up", "gzip, identity"])
      expectError(
        await post({ "content-type": "application/json", "content-encoding": encoding }, "{}"),
        415,
        "UnsupportedEncoding",
      );
    const identity = await post(
      { "content-type": "application/json", "content-encoding": "identity" },
      "{}",
    );
    expectError(identity, 400, "BadRequest");
  });

  it("a charset other than UTF-8 is a 415, UTF-8 in any spelling passes", async () => {
    for (const type of [
      "application/json; charset=latin1",
      "application/json; charset=utf-16",
      "application/json; charset=iso-8859-1",
      "application/json; charset=utf8",
    ])
      expectError(await post({ "content-type": type }, "{}"), 415, "UnsupportedMediaType");
    const tx = transactionToJson(
      makeTx(alice, { chainId: CHAIN, to: forger.address, nonce: 0, timestamp: Date.now() }),
    );
    const r = await post(
      { "content-type": 'application/json; charset="UTF-8"' },
      JSON.stringify(tx),
    );
    expect(r.status, r.body).toBe(202);
    for (const type of ["application/json; charset=utf-8", "application/json;charset=UTF-8"])
      expectError(await post({ "content-type": type }, "{}"), 400, "BadRequest");
  });

  it("other media types are a 415", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
      expectError(await post({ "content-type": type }, "{}"), 415, "UnsupportedMediaType");
  });
});

describe("transaction timestamps outside the window of the node's clock", () => {
  it("are refused at admission with TimestampTooOld or TimestampTooNew, and change nothing", async () => {
    const before = await getJson(`${t.url}/v1/accounts/${alice.address}`);
    const pool = (await getJson(`${t.url}/v1/mempool`)).body.transactions.length;
    const nonce = before.body.pendingNonce as number;
    const hour = 3_600_000;
    const cases: [number, string][] = [
      [0, "TimestampTooOld"],
      [Date.now() - 25 * hour, "TimestampTooOld"],
      [Number.MAX_SAFE_INTEGER, "TimestampTooNew"],
      [Date.UTC(2126, 0, 1), "TimestampTooNew"],
      [Date.now() + 20 * 60_000, "TimestampTooNew"],
    ];
    for (const [timestamp, code] of cases) {
      const tx = makeTx(alice, { chainId: CHAIN, to: forger.address, nonce, timestamp });
      const body = JSON.stringify(transactionToJson(tx));
      const r = await post({ "content-type": "application/json" }, body);
      expectError(r, 422, code);
    }
    expect((await getJson(`${t.url}/v1/accounts/${alice.address}`)).body).toEqual(before.body);
    expect((await getJson(`${t.url}/v1/mempool`)).body.transactions.length).toBe(pool);
    // Inside the window: a day's offline signing, and a clock a few minutes fast.
    for (const [i, timestamp] of [Date.now() - 23 * hour, Date.now() + 5 * 60_000].entries()) {
      const tx = makeTx(alice, { chainId: CHAIN, to: forger.address, nonce: nonce + i, timestamp });
      const r = await post(
        { "content-type": "application/json" },
        JSON.stringify(transactionToJson(tx)),
      );
      expect(r.status, r.body).toBe(202);
    }
  });
});

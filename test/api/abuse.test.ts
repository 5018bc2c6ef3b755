import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiLimits } from "../../src/api/limits.js";
import { transactionToJson } from "../../src/core/transaction.js";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson, postJson, waitFor } from "../helpers/node-process.js";
import {
  formatViolation,
  parseResponse,
  type RawResponse,
  rawRequest,
} from "../helpers/raw-http.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

/**
 * The API under abuse (issue 9): clients that hold sockets, trickle bytes, ask for huge ranges,
 * flood reads or open event streams by the dozen. Each attack comes from its own loopback source
 * address (a client of its own, as the caps count per address) while an honest client on
 * 127.0.0.1 keeps asking for the status: it must keep being served, and the node's own gauges
 * must show every bound held. The limits are scaled down so that each attack takes seconds.
 */
const limits: Partial<ApiLimits> = {
  headersTimeoutMs: 1_000,
  requestTimeoutMs: 1_500,
  keepAliveTimeoutMs: 1_000,
  idleTimeoutMs: 5_000,
  timeoutCheckIntervalMs: 200,
  maxConnections: 48,
  maxConnectionsPerClient: 16,
  getRatePerSecond: 200,
  heavyBytesPerSecond: 64 * 1024,
  heavyConcurrency: 2,
  rangeResponseBytes: 16 * 1024,
  maxEventStreams: 24,
};

const forger = testKey(41);
const alice = testKey(42);
const CHAIN = "lotchain-apitest";

let t: TestNode;
let port: number;

beforeAll(async () => {
  t = await startTestNode({
    genesis: posGenesis({ validator: forger, alloc: { [alice.address]: "1000" }, slotMs: 50 }),
    key: forger,
    forgeEmptyBlocks: true,
    apiLimits: limits,
  });
  port = Number(new URL(t.url).port);
  await waitFor(
    async () => (await getJson(`${t.url}/v1/status`)).body.height >= 40,
    30_000,
    "40 blocks",
  );
});

afterAll(async () => {
  await t?.close();
});

/** The honest client: asks for the status every 100 ms until stopped; every answer must be 200. */
function honestClient() {
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await rawRequest(port, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n", {
        timeoutMs: 20_000,
      });
      statuses.push(r.status);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return statuses;
    },
  };
}

async function expectServedThroughout(honest: ReturnType<typeof honestClient>) {
  const statuses = await honest.stop();
  expect(statuses.length).toBeGreaterThan(0);
  expect(statuses.filter((s) => s !== 200)).toEqual([]);
}

async function gauges(): Promise<Record<string, number>> {
  // A fresh connection, asked again if the caps cut it (the attack's sockets may still be closing).
  const text = await waitFor(
    async () => {
      const r = await rawRequest(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
      return r.status === 200 ? r.body : undefined;
    },
    5_000,
    "metrics",
  );
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(lotchain_api_\w+) (\S+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

interface Trickle {
  response: Promise<RawResponse & { ms: number }>;
}

/** Writes `head` at once, then `drip` one byte at a time every `everyMs`, and reads the answer. */
function trickle(head: string, drip: string, everyMs: number, localAddress: string): Trickle {
  const started = Date.now();
  const socket = connect({ port, host: "127.0.0.1", localAddress });
  let data = Buffer.alloc(0);
  let at = 0;
  const timer = setInterval(() => {
    if (at < drip.length && socket.writable) socket.write(drip[at++]!);
  }, everyMs);
  const response = new Promise<RawResponse & { ms: number }>((resolve) => {
    const finish = () => {
      clearInterval(timer);
      socket.destroy();
      const parsed = parseResponse(data, true);
      resolve({
        ...(parsed ?? { status: 0, headers: {}, body: "" }),
        closed: true,
        ms: Date.now() - started,
      });
    };
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
    });
    socket.on("close", finish);
    socket.on("error", () => {});
    socket.setTimeout(10_000, finish);
  });
  socket.on("connect", () => socket.write(head));
  return { response };
}

/** Opens sockets that never send a byte; resolves each socket's time to close. */
/**
 * Opens sockets that never send a byte; resolves, for each, how long it lived and whether the
 * server said anything before closing it (a 408 at the headers deadline) or nothing (closed on
 * arrival by a cap).
 */
function idleSockets(count: number, localAddress: string) {
  const started = Date.now();
  const sockets: Socket[] = [];
  const closed = Array.from(
    { length: count },
    () =>
      new Promise<{ ms: number; answered: boolean }>((resolve) => {
        const socket = connect({ port, host: "127.0.0.1", localAddress });
        sockets.push(socket);
        let answered = false;
        // Reading, so that the server's close (after its 408) is seen.
        socket.on("data", () => {
          answered = true;
        });
        socket.on("error", () => {});
        socket.on("close", () => resolve({ ms: Date.now() - started, answered }));
      }),
  );
  return {
    closed,
    destroy: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

describe("the API under abuse keeps serving others and stays within its bounds", () => {
  it("a trickled body or trickled headers get 408 in the JSON format, then the connection closes", async () => {
    const honest = honestClient();
    const body = trickle(
      "POST /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n",
      "{".repeat(500),
      100,
      "127.0.0.2",
    );
    const headers = trickle(
      "GET /v1/status HTTP/1.1\r\nHost: x\r\n",
      "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      100,
      "127.0.0.3",
    );
    for (const [r, deadline] of [
      [await body.response, limits.requestTimeoutMs!],
      [await headers.response, limits.headersTimeoutMs!],
    ] as const) {
      expect(formatViolation(r), r.body).toBeUndefined();
      expect(r.status, r.body).toBe(408);
      expect(JSON.parse(r.body).error).toBe("RequestTimeout");
      // The deadline, plus the check interval, plus scheduling slack on a loaded machine.
      // The deadline (here 1 to 1.5 s, 30 s by default), with slack for a loaded machine.
      expect(r.ms).toBeGreaterThanOrEqual(deadline - 100);
      expect(r.ms).toBeLessThan(deadline + 10_000);
    }
    await expectServedThroughout(honest);
  });

  it("idle sockets: those past a client's share close at once, the rest at the headers deadline", async () => {
    const honest = honestClient();
    const idle = idleSockets(40, "127.0.0.4");
    try {
      const outcomes = await Promise.all(idle.closed);
      const share = limits.maxConnectionsPerClient!;
      // Past the share: closed on arrival, without a word; the rest: 408 at the deadline.
      expect(outcomes.filter((o) => !o.answered).length).toBeGreaterThanOrEqual(40 - share);
      expect(outcomes.filter((o) => o.answered).length).toBeLessThanOrEqual(share);
      // Bounded by the deadline (1 s here, 10 s by default), not by the client: slack for load.
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(
        limits.headersTimeoutMs! + 10_000,
      );
    } finally {
      idle.destroy();
    }
    await expectServedThroughout(honest);
    // Four more clients at their share each: 64 sockets against a cap of 48.
    const many = ["127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"].map((a) =>
      idleSockets(16, a),
    );
    try {
      await Promise.all(many.flatMap((m) => m.closed));
    } finally {
      for (const m of many) m.destroy();
    }
    const g = await gauges();
    expect(g.lotchain_api_connections_peak).toBeLessThanOrEqual(limits.maxConnections!);
    expect(g.lotchain_api_connections_refused).toBeGreaterThanOrEqual(40 - 16 + 64 - 48);
  });

  it("a huge range answers within its byte budget, and pages on to the head", async () => {
    const head = (await getJson(`${t.url}/v1/status`)).body.height as number;
    const heights: number[] = [];
    let from = 0;
    while (from <= head) {
      const r = await rawRequest(
        port,
        `GET /v1/blocks?from=${from}&limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      if (r.status === 429) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      expect(r.status, r.body).toBe(200);
      expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(limits.rangeResponseBytes! + 16);
      const blocks = JSON.parse(r.body).blocks as { height: number }[];
      expect(blocks.length).toBeGreaterThan(0);
      expect(blocks.length).toBeLessThan(1000);
      heights.push(...blocks.map((b) => b.height));
      from = blocks.at(-1)!.height + 1;
    }
    expect(heights).toEqual(Array.from({ length: heights.length }, (_, i) => i));
    expect(heights.length).toBeGreaterThan(head);
  });

  it("a storm of huge ranges is answered in turn within the client's byte budget", async () => {
    const honest = honestClient();
    // Waves of as many requests at once as the client may hold connections, until one is refused
    // (on a loaded machine a wave may take seconds, and the budget refills every second).
    const started = performance.now();
    const storm: RawResponse[] = [];
    for (let wave = 0; wave < 20 && !storm.some((r) => r.status === 429); wave++)
      storm.push(
        ...(await Promise.all(
          Array.from({ length: limits.maxConnectionsPerClient! }, () =>
            rawRequest(port, "GET /v1/blocks?from=0&limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n", {
              localAddress: "127.0.0.9",
            }),
          ),
        )),
      );
    const seconds = (performance.now() - started) / 1000;
    for (const r of storm) expect(formatViolation(r), r.body).toBeUndefined();
    expect(storm.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    // Each one-second window of the budget lets through its bytes plus the answer that crossed
    // them; the storm spans at most floor(seconds) + 2 windows.
    const served = storm.filter((r) => r.status === 200);
    const bytes = served.reduce((sum, r) => sum + Buffer.byteLength(r.body), 0);
    const windows = Math.floor(seconds) + 2;
    expect(bytes).toBeLessThanOrEqual(
      (limits.heavyBytesPerSecond! + limits.rangeResponseBytes! + 16) * windows,
    );
    const limited = storm.find((r) => r.status === 429);
    expect(limited, "no 429 in 20 waves").toBeDefined();
    expect(JSON.parse(limited!.body).error).toBe("RateLimited");
    expect(Number(limited!.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    await expectServedThroughout(honest);
    const g = await gauges();
    expect(g.lotchain_api_large_answers_peak).toBeLessThanOrEqual(limits.heavyConcurrency!);
    expect(g.lotchain_api_large_answers).toBe(0);
  });

  it("a flood of reads from one client gets 429 while others are served", async () => {
    const honest = honestClient();
    const flood: RawResponse[] = [];
    // Eight requests at a time from one address until it is refused (a loaded machine may need
    // more than the limit's worth before one second holds enough of them), 5,000 at most.
    const workers = Array.from({ length: 8 }, async () => {
      while (flood.length < 5_000 && !flood.some((r) => r.status === 429))
        flood.push(
          await rawRequest(port, "GET /v1/validators HTTP/1.1\r\nHost: x\r\n\r\n", {
            localAddress: "127.0.0.10",
          }),
        );
    });
    await Promise.all(workers);
    for (const r of flood) expect(formatViolation(r), r.body).toBeUndefined();
    expect(flood.map((r) => r.status)).toContain(429);
    await expectServedThroughout(honest);
  });

  it("event streams beyond the cap get 429; the open ones get events; others are served", async () => {
    const honest = honestClient();
    const streams: Socket[] = [];
    const open = (localAddress: string) =>
      new Promise<{ status: number; body: string; socket: Socket }>((resolve) => {
        const socket = connect({ port, host: "127.0.0.1", localAddress });
        streams.push(socket);
        let data = Buffer.alloc(0);
        socket.on("error", () => {});
        socket.on("data", (chunk) => {
          data = Buffer.concat([data, chunk]);
          const text = data.toString("utf8");
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
          if (status === 200 && text.includes("lotchain events"))
            resolve({ status, body: text, socket });
          else if (status !== 200) {
            const parsed = parseResponse(data, false);
            if (parsed) resolve({ status, body: parsed.body, socket });
          }
        });
        socket.on("connect", () => socket.write("GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n"));
      });
    try {
      const clients = ["127.0.0.11", "127.0.0.12"];
      const answers = [];
      for (let i = 0; i < 30; i++) answers.push(await open(clients[i % 2]!));
      const cap = limits.maxEventStreams!;
      expect(answers.slice(0, cap).every((a) => a.status === 200)).toBe(true);
      for (const a of answers.slice(cap)) {
        expect(a.status).toBe(429);
        expect(JSON.parse(a.body)).toMatchObject({ error: "RateLimited" });
      }
      const live = answers.slice(0, cap);
      const got = live.map(
        (a) =>
          new Promise<boolean>((resolve) => {
            let text = "";
            a.socket.on("data", (chunk) => {
              text += chunk.toString("utf8");
              if (text.includes("event: transaction")) resolve(true);
            });
            a.socket.on("close", () => resolve(false));
          }),
      );
      const tx = makeTx(alice, {
        chainId: CHAIN,
        to: forger.address,
        nonce: 0,
        timestamp: Date.now(),
      });
      expect((await postJson(`${t.url}/v1/transactions`, transactionToJson(tx))).status).toBe(202);
      expect(await Promise.all(got)).toEqual(live.map(() => true));
    } finally {
      for (const s of streams) s.destroy();
    }
    await expectServedThroughout(honest);
  });
});

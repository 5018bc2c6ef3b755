import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { makeTx, testKey } from "../helpers/ledger.js";
import { getJson, postJson, waitFor } from "../helpers/node-process.js";
import { posGenesis, startTestNode, type TestNode } from "./api-fixture.js";

/*
 * These tests run a LotchainNode inside the test process (real chain on LevelDB, real API on
 * 127.0.0.1:0, no network), because they look at what a process hides: the node's listener
 * counts and how its stop() behaves with event streams and idle sockets open. Routes and error
 * codes are tested against real node processes with their network in api.test.ts.
 */

const forger = testKey(21);
const alice = testKey(22);
const bob = testKey(23);

let t: TestNode | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const within = <T>(p: Promise<T>, ms: number): Promise<T | "timeout"> =>
  Promise.race([p, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms).unref())]);

/** Opens /v1/events and reads its first chunk (the stream is then live). */
async function openEvents(url: string) {
  const controller = new AbortController();
  const res = await fetch(`${url}/v1/events`, { signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  await reader.read();
  return { reader, controller };
}

describe("server-sent events and shutdown", () => {
  it("stops while explorer tabs hold /v1/events open, and ends their streams", async () => {
    t = await startTestNode({ genesis: posGenesis({ validator: forger }) });
    const clients = [await openEvents(t.url), await openEvents(t.url)];
    // A node with an open explorer page must still stop on SIGTERM.
    expect(await within(t.node.stop(), 5_000)).not.toBe("timeout");
    for (const c of clients) {
      const end = await within(
        (async () => {
          for (;;) if ((await c.reader.read()).done) return "done";
        })().catch(() => "done"),
        2_000,
      );
      expect(end).toBe("done");
      c.controller.abort();
    }
  });

  it("serves many SSE clients with one set of node listeners, and removes them on close", async () => {
    t = await startTestNode({
      genesis: posGenesis({ validator: forger, alloc: { [alice.address]: "100" } }),
    });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const clients = [];
      for (let i = 0; i < 20; i++) clients.push(await openEvents(t.url));
      expect(t.node.events.listenerCount("block")).toBeLessThanOrEqual(1);
      expect(t.node.events.listenerCount("transaction")).toBeLessThanOrEqual(1);
      const tx = makeTx(alice, {
        chainId: "lotchain-apitest",
        to: bob.address,
        amount: 1n,
        nonce: 0,
      });
      const { transactionToJson } = await import("../../src/core/transaction.js");
      expect((await postJson(`${t.url}/v1/transactions`, transactionToJson(tx))).status).toBe(202);
      // Every client gets the transaction event.
      for (const c of clients) {
        let text = "";
        while (!text.includes("event: transaction")) {
          const { value, done } = await c.reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
        expect(text).toContain(tx.id);
        c.controller.abort();
      }
      // process warnings are emitted on the next tick of the listener that caused them
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
      await t.node.stop();
      expect(t.node.events.listenerCount("block")).toBe(0);
      expect(t.node.events.listenerCount("transaction")).toBe(0);
      expect(t.node.events.listenerCount("reorg")).toBe(0);
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("the node's periodic mempool expiry (README: expiry after an hour)", () => {
  it("drops a transaction pending for more than an hour, on its own, and keeps a younger one", async () => {
    const clock = { now: Date.now() };
    t = await startTestNode({
      genesis: posGenesis({
        validator: forger,
        alloc: { [alice.address]: "100", [bob.address]: "100" },
      }),
      now: () => clock.now,
      mempoolPruneIntervalMs: 20,
    });
    const { transactionToJson } = await import("../../src/core/transaction.js");
    const send = async (from: typeof alice) => {
      const tx = makeTx(from, {
        chainId: "lotchain-apitest",
        to: forger.address,
        amount: 1n,
        nonce: 0,
      });
      expect((await postJson(`${t!.url}/v1/transactions`, transactionToJson(tx))).status).toBe(202);
      return tx.id;
    };
    const pending = async (id: string) =>
      (await getJson(`${t!.url}/v1/transactions/${id}`)).status === 200;
    const old = await send(alice);
    clock.now += 30 * 60_000;
    const young = await send(bob);
    clock.now += 30 * 60_000 + 1;
    // nothing but the node's own timer runs from here: no request adds or removes anything
    await waitFor(async () => !(await pending(old)) || undefined, 10_000, "the old one expired");
    expect(await pending(young)).toBe(true);
    const pool = (await getJson(`${t.url}/v1/mempool`)).body.transactions;
    expect(pool.map((x: { id: string }) => x.id)).toEqual([young]);
  });
});

describe("a request that arrives while the node stops", () => {
  it("is answered 503 ShuttingDown in the JSON error format", async () => {
    t = await startTestNode({ genesis: posGenesis({ validator: forger }) });
    const { port } = new URL(t.url);
    const socket = connect(Number(port), "127.0.0.1");
    let answer = "";
    socket.on("data", (d) => {
      answer += d.toString();
    });
    try {
      await new Promise((resolve) => socket.once("connect", resolve));
      // A request begun on an open connection (so the server's close does not count it idle)...
      socket.write("GET /v1/sta");
      // ...which the server has read once it answers a later request on another connection.
      expect((await getJson(`${t.url}/v1/status`)).status).toBe(200);
      const stopping = t.node.stop();
      await waitFor(
        async () =>
          (await fetch(`${t!.url}/v1/status`).then(
            () => false,
            () => true,
          )) || undefined,
        10_000,
        "the server to refuse new connections",
      );
      socket.write("tus HTTP/1.1\r\nHost: x\r\n\r\n");
      await stopping;
      await waitFor(async () => answer.includes("\r\n\r\n{") || undefined, 10_000, "an answer");
      expect(answer).toMatch(/^HTTP\/1\.1 503 /);
      const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));
      expect(body).toEqual({ error: "ShuttingDown", message: expect.any(String) });
    } finally {
      socket.destroy();
    }
  });
});

describe("shutdown with idle client connections", () => {
  it("does not wait for a connection that never sends a request (a browser's preconnect)", async () => {
    t = await startTestNode({ genesis: posGenesis({ validator: forger }) });
    const { port } = new URL(t.url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const closed = new Promise((resolve) => socket.once("close", resolve));
    try {
      expect(await within(t.node.stop(), 10_000)).not.toBe("timeout");
      expect(await within(closed, 1_000)).not.toBe("timeout");
    } finally {
      socket.destroy();
    }
  });
});

describe("event stream limits", () => {
  it("refuses event streams beyond maxEventStreams with 429, and serves again once one closes", async () => {
    // Fewer streams than the default 256: one client address may hold 64 connections at most.
    const maxEventStreams = 16;
    t = await startTestNode({
      genesis: posGenesis({ validator: forger }),
      apiLimits: { maxEventStreams },
    });
    const clients = [];
    for (let i = 0; i < maxEventStreams; i++) clients.push(await openEvents(t.url));
    const refused = await getJson(`${t.url}/v1/events`);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe("RateLimited");
    clients.pop()!.controller.abort();
    // the server sees the closed stream and makes room: a new client gets in
    const again = await waitFor(
      async () => {
        const controller = new AbortController();
        const res = await fetch(`${t!.url}/v1/events`, { signal: controller.signal });
        if (res.status === 200) return controller;
        await res.body?.cancel();
        return undefined;
      },
      10_000,
      "an event stream after one closed",
    );
    again.abort();
    for (const c of clients) c.controller.abort();
  });
});

describe("errors the router raises before a route runs", () => {
  it("answer 400 with the { error, message } body", async () => {
    t = await startTestNode({ genesis: posGenesis({ validator: forger }) });
    for (const path of [
      `/v1/accounts/${"x".repeat(200)}`,
      `/v1/blocks/${"1".repeat(150)}`,
      "/v1/blocks/%",
    ]) {
      const r = await getJson(`${t.url}${path}`);
      expect(r.status, path).toBe(400);
      expect(Object.keys(r.body).sort(), path).toEqual(["error", "message"]);
      expect(r.body.error).toBe("BadRequest");
    }
  });
});

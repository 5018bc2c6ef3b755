import { afterEach, describe, expect, it } from "vitest";
import type { P2PNode } from "../../src/net/p2p.js";
import { bytes, TestNetwork, text, waitFor } from "./helpers.js";

const ECHO = "/lotchain/test/echo/1";
const LIMITS = { maxRequestBytes: 1000, maxResponseBytes: 4000, timeoutMs: 2_000 };
const OPTS = { maxResponseBytes: 4000, timeoutMs: 2_000 };

const scoreOf = (node: P2PNode, peer: P2PNode) =>
  node.peers().find((p) => p.peerId === peer.peerId)?.score ?? 0;

async function pair(net: TestNetwork): Promise<[P2PNode, P2PNode]> {
  const server = await net.node();
  const client = await net.node({ bootstrap: [server.listenAddresses()[0]!] });
  await waitFor("connected", () => client.peers().some((p) => p.peerId === server.peerId));
  return [server, client];
}

describe("request/response", () => {
  const net = new TestNetwork();
  afterEach(() => net.cleanup());

  it("round trips a request and tells the handler who asked", async () => {
    const [server, client] = await pair(net);
    const askers: string[] = [];
    server.handle(
      ECHO,
      async (req, from) => {
        askers.push(from);
        return bytes(`echo ${text(req)}`);
      },
      LIMITS,
    );
    expect(text(await client.request(server.peerId, ECHO, bytes("hi"), OPTS))).toBe("echo hi");
    // empty request and response, and a response of exactly the limit
    server.handle("/lotchain/test/empty/1", async () => new Uint8Array(0), LIMITS);
    expect(
      await client.request(server.peerId, "/lotchain/test/empty/1", new Uint8Array(0), OPTS),
    ).toHaveLength(0);
    server.handle("/lotchain/test/full/1", async () => new Uint8Array(4000).fill(7), LIMITS);
    expect(
      await client.request(server.peerId, "/lotchain/test/full/1", bytes("x"), OPTS),
    ).toHaveLength(4000);
    // many requests at once
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client.request(server.peerId, ECHO, bytes(`${i}`), OPTS),
      ),
    );
    expect(answers.map(text)).toEqual(Array.from({ length: 20 }, (_, i) => `echo ${i}`));
    expect(new Set(askers)).toEqual(new Set([client.peerId]));
  });

  it("carries large requests and responses", async () => {
    const [server, client] = await pair(net);
    const big = 6 * 1024 * 1024; // over libp2p's 4 MiB default stream buffers
    server.handle("/lotchain/test/big/1", async (req) => new Uint8Array(big).fill(req[0]!), {
      maxRequestBytes: 1024 * 1024,
      maxResponseBytes: big,
      timeoutMs: 10_000,
    });
    const request = new Uint8Array(1024 * 1024).fill(9);
    const response = await client.request(server.peerId, "/lotchain/test/big/1", request, {
      maxResponseBytes: big,
      timeoutMs: 10_000,
    });
    expect(response.length).toBe(big);
    expect(response[big - 1]).toBe(9);
  });

  it("serves handlers registered before start", async () => {
    const server = await net.node({}, false);
    server.handle(ECHO, async (req) => req, LIMITS);
    await server.start();
    const client = await net.node({ bootstrap: [server.listenAddresses()[0]!] });
    await waitFor("connected", () => client.peers().length === 1);
    expect(text(await client.request(server.peerId, ECHO, bytes("early"), OPTS))).toBe("early");
  });

  it("reports a failing handler as RemoteError with its message", async () => {
    const [server, client] = await pair(net);
    server.handle(
      ECHO,
      async () => {
        throw new Error("unknown block");
      },
      LIMITS,
    );
    await expect(client.request(server.peerId, ECHO, bytes("x"), OPTS)).rejects.toMatchObject({
      code: "RemoteError",
      message: "unknown block",
    });
    expect(scoreOf(client, server)).toBe(0);
  });

  it("refuses a response over the requester's limit and penalises the responder", async () => {
    const [server, client] = await pair(net);
    server.handle(ECHO, async () => new Uint8Array(3000), LIMITS);
    await expect(
      client.request(server.peerId, ECHO, bytes("x"), { maxResponseBytes: 1000, timeoutMs: 2_000 }),
    ).rejects.toMatchObject({ code: "ResponseTooLarge" });
    expect(scoreOf(client, server)).toBeLessThan(0);
  });

  it("drops a request over the responder's limit and penalises the requester", async () => {
    const [server, client] = await pair(net);
    let called = false;
    server.handle(
      ECHO,
      async () => {
        called = true;
        return bytes("no");
      },
      LIMITS,
    );
    await expect(
      client.request(server.peerId, ECHO, new Uint8Array(1001), OPTS),
    ).rejects.toMatchObject({
      code: "Unreachable",
    });
    await waitFor("server penalised client", () => scoreOf(server, client) < 0);
    expect(called).toBe(false);
  });

  it("times out on the requester's side", async () => {
    const [server, client] = await pair(net);
    // The handler answers only when the test lets it, after the request has failed: a request
    // that ended for any other reason than its own timeout would hang or resolve instead.
    let release: (value: Uint8Array) => void = () => {};
    server.handle(
      ECHO,
      () =>
        new Promise<Uint8Array>((resolve) => {
          release = resolve;
        }),
      { ...LIMITS, timeoutMs: 60_000 },
    );
    try {
      await expect(
        client.request(server.peerId, ECHO, bytes("x"), { maxResponseBytes: 100, timeoutMs: 300 }),
      ).rejects.toMatchObject({ code: "Timeout" });
    } finally {
      release(bytes("late"));
    }
    expect(scoreOf(client, server)).toBe(0);
  });

  it("times out on the responder's side, aborting the handler", async () => {
    const [server, client] = await pair(net);
    let aborted = false;
    server.handle(
      ECHO,
      (_req, _from, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(signal.reason);
          });
        }),
      { ...LIMITS, timeoutMs: 300 },
    );
    // The requester would wait 30 s and fail with Timeout: the responder's abort comes first.
    await expect(
      client.request(server.peerId, ECHO, bytes("x"), { maxResponseBytes: 100, timeoutMs: 30_000 }),
    ).rejects.toMatchObject({ code: "Unreachable" });
    expect(aborted).toBe(true);
  });

  it("fails cleanly for an unsupported protocol and an unknown peer", async () => {
    const [server, client] = await pair(net);
    await expect(
      client.request(server.peerId, "/lotchain/test/nope/1", bytes("x"), OPTS),
    ).rejects.toMatchObject({
      code: "Unreachable",
    });
    await expect(client.request("not-a-peer-id", ECHO, bytes("x"), OPTS)).rejects.toMatchObject({
      code: "InvalidPeerId",
    });
    const stranger = await net.node({}, false); // never started: nobody knows its address
    await expect(client.request(stranger.peerId, ECHO, bytes("x"), OPTS)).rejects.toMatchObject({
      code: "Unreachable",
    });
    expect(() => server.handle("/lotchain/test/x/1", async () => bytes(""), LIMITS)).not.toThrow();
    expect(() => server.handle("/lotchain/test/x/1", async () => bytes(""), LIMITS)).toThrow(
      expect.objectContaining({ code: "AlreadyRegistered" }),
    );
  });
});

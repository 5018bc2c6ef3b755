import { afterEach, describe, expect, it } from "vitest";
import type { P2PNode } from "../../src/net/p2p.js";
import { bytes, capturingLogger, hostPort, isConnected, TestNetwork, waitFor } from "./helpers.js";

const PING = "/lotchain/test/ping/1";

const scoreAt = (node: P2PNode, peer: P2PNode) =>
  node.peers().find((p) => p.peerId === peer.peerId)?.score;

/** Peers `node` let in while it had them banned (its peer:connect events), from now on. */
function admittedWhileBanned(node: P2PNode): string[] {
  const admitted: string[] = [];
  node.on("peer:connect", (peerId) => {
    if (node.banned().some((ban) => ban.peerId === peerId)) admitted.push(peerId);
  });
  return admitted;
}

/** Counts a node's bootstrap redials (successful or not) from now on, from its log. */
function redials(messages: () => string[]): () => number {
  const isDial = (m: string) =>
    m === "connected to bootstrap peer" || m.startsWith("bootstrap dial");
  const before = messages().filter(isDial).length;
  return () => messages().filter(isDial).length - before;
}

describe("scores and bans", () => {
  const net = new TestNetwork();
  afterEach(() => net.cleanup());

  it("disconnects a peer penalised below the threshold and refuses it while banned", async () => {
    const a = await net.node({ scoring: { banMs: 5_000 } });
    a.handle(PING, async () => bytes("pong"), {
      maxRequestBytes: 10,
      maxResponseBytes: 10,
      timeoutMs: 1_000,
    });
    // b keeps redialling a (its bootstrap peer) every 200 ms to 1 s while banned
    const { logger, messages } = capturingLogger();
    const b = await net.node({ bootstrap: [hostPort(a)], logger });
    await waitFor("connected", () => isConnected(a, b) && isConnected(b, a));

    // The ban list changes synchronously in penalize(); the disconnect follows asynchronously.
    a.penalize(b.peerId, 60, "bad block");
    expect(scoreAt(a, b)).toBeCloseTo(-60, 0);
    expect(a.banned()).toEqual([]);
    a.penalize(b.peerId, 50, "bad block again");
    expect(a.banned().map((ban) => ban.peerId)).toEqual([b.peerId]);
    await waitFor("disconnected on both sides", () => !isConnected(a, b) && !isConnected(b, a));

    // b cannot get back in, neither by its bootstrap redials nor by a request
    const admitted = admittedWhileBanned(a);
    const redialled = redials(messages);
    await expect(
      b.request(a.peerId, PING, bytes("ping"), { maxResponseBytes: 10, timeoutMs: 1_000 }),
    ).rejects.toMatchObject({ code: "Unreachable" });
    await waitFor("b redialled a twice", () => redialled() >= 2);
    expect(admitted).toEqual([]);
    expect(a.banned().map((ban) => ban.peerId)).toEqual([b.peerId]);

    // the ban expires and b's redials succeed; its score starts over
    await waitFor("reconnected after the ban", () => isConnected(a, b), 15_000);
    expect(scoreAt(a, b)).toBe(0);
    expect(a.banned()).toEqual([]);
  });

  it("lets scores recover over time", async () => {
    const a = await net.node({ scoring: { halfLifeMs: 200 } });
    const b = await net.node({ bootstrap: [hostPort(a)] });
    await waitFor("connected", () => isConnected(a, b));
    a.penalize(b.peerId, 80, "slow");
    await waitFor("score decayed above -25", () => (scoreAt(a, b) ?? -100) > -25);
    expect(scoreAt(a, b)).toBeLessThan(0);
    // -140 without the decay (a ban); about -85 with it, well clear of the -100 threshold
    a.penalize(b.peerId, 60, "slow again");
    expect(a.banned()).toEqual([]);
    expect(scoreAt(a, b)).toBeGreaterThan(-90);
  });

  it("ban and unban by hand cut and restore a link in either direction", async () => {
    const a = await net.node();
    const { logger, messages } = capturingLogger();
    const b = await net.node({ bootstrap: [hostPort(a)], logger });
    const c = await net.node({ bootstrap: [hostPort(a)] });
    await waitFor(
      "all connected",
      () => isConnected(a, b) && isConnected(a, c) && isConnected(b, c),
      15_000,
    );

    // cut b off from everyone, as a partition test does from the admin routes
    const admittedByA = admittedWhileBanned(a);
    const admittedByC = admittedWhileBanned(c);
    a.ban(b.peerId, 60_000);
    c.ban(b.peerId, 60_000);
    await waitFor("b isolated", () => b.peers().length === 0);
    const redialled = redials(messages);
    await waitFor("b's bootstrap redials, refused", () => redialled() >= 2);
    expect([...admittedByA, ...admittedByC]).toEqual([]);
    expect(isConnected(a, b) || isConnected(c, b)).toBe(false);
    expect(isConnected(a, c)).toBe(true);

    // a dialling b is refused too (a's own gater)
    a.unban(b.peerId);
    await waitFor("a and b reconnected", () => isConnected(a, b) && isConnected(b, a), 5_000);
    expect(isConnected(c, b)).toBe(false);
    expect(admittedByC).toEqual([]);
    c.unban(b.peerId);
    await waitFor("c and b reconnected", () => isConnected(c, b), 5_000);

    expect(() => a.ban("nonsense", 1_000)).toThrow(
      expect.objectContaining({ code: "InvalidPeerId" }),
    );
  });
});

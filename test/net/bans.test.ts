import { afterEach, describe, expect, it } from "vitest";
import { bytes, hostPort, isConnected, sleep, TestNetwork, waitFor } from "./helpers.js";

const PING = "/lotchain/test/ping/1";

describe("scores and bans", () => {
  const net = new TestNetwork();
  afterEach(() => net.cleanup());

  it("disconnects a peer penalised below the threshold and refuses it while banned", async () => {
    const a = await net.node({ scoring: { banMs: 2_000 } });
    a.handle(PING, async () => bytes("pong"), {
      maxRequestBytes: 10,
      maxResponseBytes: 10,
      timeoutMs: 1_000,
    });
    // b keeps redialling a (its bootstrap peer) every 200 ms to 1 s while banned
    const b = await net.node({ bootstrap: [hostPort(a)] });
    await waitFor("connected", () => isConnected(a, b) && isConnected(b, a));

    a.penalize(b.peerId, 60, "bad block");
    expect(a.peers().find((p) => p.peerId === b.peerId)?.score).toBeCloseTo(-60, 0);
    expect(isConnected(a, b)).toBe(true);
    a.penalize(b.peerId, 50, "bad block again");
    await waitFor("disconnected on both sides", () => !isConnected(a, b) && !isConnected(b, a));
    expect(a.banned().map((ban) => ban.peerId)).toEqual([b.peerId]);

    // b cannot get back in, neither by its bootstrap redials nor by a request
    await expect(
      b.request(a.peerId, PING, bytes("ping"), { maxResponseBytes: 10, timeoutMs: 1_000 }),
    ).rejects.toMatchObject({ code: "Unreachable" });
    await sleep(1_000);
    expect(isConnected(a, b)).toBe(false);
    expect(isConnected(b, a)).toBe(false);

    // the ban expires and b's redials succeed; its score starts over
    await waitFor("reconnected after the ban", () => isConnected(a, b), 5_000);
    expect(a.peers().find((p) => p.peerId === b.peerId)?.score).toBe(0);
    expect(a.banned()).toEqual([]);
  });

  it("lets scores recover over time", async () => {
    const a = await net.node({ scoring: { halfLifeMs: 200 } });
    const b = await net.node({ bootstrap: [hostPort(a)] });
    await waitFor("connected", () => isConnected(a, b));
    a.penalize(b.peerId, 80, "slow");
    await sleep(400);
    const score = a.peers().find((p) => p.peerId === b.peerId)?.score ?? 0;
    expect(score).toBeGreaterThan(-25);
    expect(score).toBeLessThan(0);
    a.penalize(b.peerId, 80, "slow again"); // would have banned without the decay
    expect(isConnected(a, b)).toBe(true);
  });

  it("ban and unban by hand cut and restore a link in either direction", async () => {
    const a = await net.node();
    const b = await net.node({ bootstrap: [hostPort(a)] });
    const c = await net.node({ bootstrap: [hostPort(a)] });
    await waitFor(
      "all connected",
      () => isConnected(a, b) && isConnected(a, c) && isConnected(b, c),
      15_000,
    );

    // cut b off from everyone, as a partition test does from the admin routes
    a.ban(b.peerId, 60_000);
    c.ban(b.peerId, 60_000);
    await waitFor("b isolated", () => b.peers().length === 0);
    await sleep(1_200); // b's bootstrap redials keep failing
    expect(b.peers()).toEqual([]);
    expect(isConnected(a, c)).toBe(true);

    // a dialling b is refused too (a's own gater)
    a.unban(b.peerId);
    await waitFor("a and b reconnected", () => isConnected(a, b) && isConnected(b, a), 5_000);
    expect(isConnected(c, b)).toBe(false);
    c.unban(b.peerId);
    await waitFor("c and b reconnected", () => isConnected(c, b), 5_000);

    expect(() => a.ban("nonsense", 1_000)).toThrow(
      expect.objectContaining({ code: "InvalidPeerId" }),
    );
  });
});

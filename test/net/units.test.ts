import { describe, expect, it } from "vitest";
import { hostPortOf, parseBootstrapAddress, peerIdOf } from "../../src/net/addresses.js";
import { backoffDelay } from "../../src/net/backoff.js";
import { BanList } from "../../src/net/ban-list.js";
import { PeerScores } from "../../src/net/peer-scores.js";

const PEER = "12D3KooWABzt5eVp4N1gyWUokjWgDDT4cSjYXr7CbizkZhivMngQ";

describe("bootstrap addresses", () => {
  it("turns host:port forms into multiaddrs without a peer id", () => {
    expect(parseBootstrapAddress("127.0.0.1:10001").toString()).toBe("/ip4/127.0.0.1/tcp/10001");
    expect(parseBootstrapAddress(" [::1]:10001 ").toString()).toBe("/ip6/::1/tcp/10001");
    expect(parseBootstrapAddress("node-1.example.org:10001").toString()).toBe(
      "/dns/node-1.example.org/tcp/10001",
    );
    expect(peerIdOf(parseBootstrapAddress("127.0.0.1:10001"))).toBeUndefined();
  });

  it("keeps multiaddrs as they are, with or without /p2p", () => {
    const full = parseBootstrapAddress(`/ip4/10.0.0.2/tcp/4001/p2p/${PEER}`);
    expect(peerIdOf(full)).toBe(PEER);
    expect(hostPortOf(full)).toBe("10.0.0.2:4001");
    expect(peerIdOf(parseBootstrapAddress("/ip4/10.0.0.2/tcp/4001"))).toBeUndefined();
  });

  it("rejects anything else", () => {
    for (const bad of [
      "",
      "localhost",
      "1.2.3.4:",
      "1.2.3.4:0",
      "1.2.3.4:65536",
      "::1:80",
      "/nope",
      "a b:1",
    ]) {
      expect(() => parseBootstrapAddress(bad), bad).toThrow(
        expect.objectContaining({ code: "InvalidAddress" }),
      );
    }
  });
});

describe("bans", () => {
  it("expire on their own and can be lifted or shortened", () => {
    let now = 1_000;
    const bans = new BanList(() => now);
    bans.ban("p", 500);
    expect(bans.isBanned("p")).toBe(true);
    expect(bans.remainingMs("p")).toBe(500);
    now += 499;
    expect(bans.list()).toEqual([{ peerId: "p", until: 1_500 }]);
    now += 1;
    expect(bans.isBanned("p")).toBe(false);
    expect(bans.list()).toEqual([]);
    bans.ban("q", 10_000);
    bans.ban("q", 10);
    expect(bans.remainingMs("q")).toBe(10);
    expect(bans.unban("q")).toBe(true);
    expect(bans.unban("q")).toBe(false);
  });

  it("are forgotten once expired, also for peers that never come back", () => {
    let now = 0;
    const bans = new BanList(() => now);
    // Peer ids are free to make: each banned identity must not stay in memory for ever.
    for (let i = 0; i < 1_000; i++) bans.ban(`sybil-${i}`, 10);
    bans.ban("long", 60_000);
    expect(bans.size).toBe(1_001);
    now = 11;
    bans.sweep();
    expect(bans.size).toBe(1);
    expect(bans.isBanned("long")).toBe(true);
  });
});

describe("peer scores", () => {
  it("decay toward zero with the half-life and are forgotten once negligible", () => {
    let now = 0;
    const scores = new PeerScores(1_000, () => now);
    expect(scores.add("p", -80)).toBe(-80);
    now = 1_000;
    expect(scores.get("p")).toBeCloseTo(-40);
    expect(scores.add("p", -10)).toBeCloseTo(-50);
    now = 3_000;
    expect(scores.get("p")).toBeCloseTo(-12.5);
    now = 30_000;
    scores.sweep();
    expect(scores.get("p")).toBe(0);
    scores.add("q", -5);
    scores.reset("q");
    expect(scores.get("q")).toBe(0);
  });
});

describe("backoff", () => {
  it("doubles from the base, never passes the cap, and jitters by at most 25%", () => {
    const backoff = { baseMs: 100, maxMs: 1_000 };
    for (let i = 0; i < 200; i++) {
      const first = backoffDelay(1, backoff);
      expect(first).toBeGreaterThanOrEqual(75);
      expect(first).toBeLessThanOrEqual(125);
      const third = backoffDelay(3, backoff);
      expect(third).toBeGreaterThanOrEqual(300);
      expect(third).toBeLessThanOrEqual(500);
      expect(backoffDelay(50, backoff)).toBeLessThanOrEqual(1_000);
      expect(backoffDelay(50, backoff)).toBeGreaterThanOrEqual(750);
    }
  });
});

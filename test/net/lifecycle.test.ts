import { afterEach, describe, expect, it } from "vitest";
import { bytes, hostPort, isConnected, sleep, TestNetwork, waitFor } from "./helpers.js";

/** Counts of the kinds of handle that keep a process alive or leak: sockets, servers, timers. */
function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (/TCP|Timeout|Immediate|UDP/.test(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

const sameCounts = (x: Record<string, number>, y: Record<string, number>) =>
  JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());

describe("lifecycle", () => {
  const net = new TestNetwork();
  afterEach(() => net.cleanup());

  it("stop() is idempotent and leaves no sockets or timers behind", async () => {
    await sleep(100);
    const before = liveHandles();
    const a = await net.node();
    const b = await net.node({ bootstrap: [hostPort(a), "127.0.0.1:1"] });
    a.subscribe("/t", () => "accept", 100);
    b.subscribe("/t", () => "accept", 100);
    a.handle("/echo", async (req) => req, {
      maxRequestBytes: 10,
      maxResponseBytes: 10,
      timeoutMs: 1_000,
    });
    await waitFor("connected", () => isConnected(a, b) && b.topicPeers("/t").length === 1);
    await b.publish("/t", bytes("x"));
    await b.request(a.peerId, "/echo", bytes("x"), { maxResponseBytes: 10, timeoutMs: 1_000 });

    await Promise.all([a.stop(), b.stop(), a.stop()]);
    await b.stop();
    await expect(b.publish("/t", bytes("y"))).resolves.toBe(0);
    await expect(
      a.request(b.peerId, "/echo", bytes("x"), { maxResponseBytes: 10, timeoutMs: 100 }),
    ).rejects.toMatchObject({ code: "NotStarted" });
    // sockets and listeners are gone (libuv drops closed handles on its next turn)
    const sockets = () => Object.keys(liveHandles()).filter((kind) => /TCP|UDP/.test(kind));
    await waitFor("sockets closed", () => sockets().length === 0);
    // libp2p leaves two one-shot timers of at most 1 s behind (gossipsub's last heartbeat and
    // the address manager's debounced peer-store update); nothing recurs, so the count of
    // handles comes back to where it was
    await waitFor("handles back to the count before", () => sameCounts(liveHandles(), before));
    expect(liveHandles()).toEqual(before);
  });

  it("a failed start (port in use) can still be stopped cleanly", async () => {
    const a = await net.node();
    const port = Number(hostPort(a).split(":")[1]);
    const b = await net.node({ port }, false);
    await expect(b.start()).rejects.toThrow();
    await b.stop();
    await expect(b.publish("/t", bytes("x"))).resolves.toBe(0);
  });

  it("publish before start is a programming error", async () => {
    const a = await net.node({}, false);
    await expect(a.publish("/t", bytes("x"))).rejects.toMatchObject({ code: "NotStarted" });
  });
});

import { readFile, stat } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { identityPath, P2PNode } from "../../src/net/p2p.js";
import { capturingLogger, hostPort, isConnected, TestNetwork, waitFor } from "./helpers.js";

describe("connecting and discovery", () => {
  const net = new TestNetwork();
  afterEach(() => net.cleanup());

  it("dials a host:port bootstrap without knowing its peer id", async () => {
    const a = await net.node();
    const b = await net.node({ bootstrap: [hostPort(a)] });
    await waitFor("b connected to a", () => isConnected(b, a) && isConnected(a, b));
    expect(b.peers().find((p) => p.peerId === a.peerId)?.direction).toBe("outbound");
    expect(a.peers().find((p) => p.peerId === b.peerId)?.direction).toBe("inbound");
    expect(a.listenAddresses()[0]).toMatch(
      new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${a.peerId}$`),
    );
    // a host name resolves too
    const c = await net.node({ bootstrap: [`localhost:${hostPort(a).split(":")[1]}`] });
    await waitFor("c connected to a by name", () => isConnected(c, a));
  });

  it("accepts multiaddr bootstraps with and without /p2p, and ignores itself", async () => {
    const a = await net.node();
    const [withId] = a.listenAddresses();
    const withoutId = withId!.replace(/\/p2p\/.*$/, "");
    const b = await net.node({ bootstrap: [withId!] });
    const c = await net.node({ bootstrap: [withoutId, "127.0.0.1:1"] });
    await waitFor("b and c connected to a", () => isConnected(b, a) && isConnected(c, a));
    // a node whose bootstrap list names itself (as a devnet's shared list does) does not dial
    // itself; b, last on its list, shows when the dialer has been through the list and beyond
    const port = Number(hostPort(a).split(":")[1]);
    await a.stop();
    const { logger, messages, entries } = capturingLogger();
    const bPort = hostPort(b).split(":")[1];
    const bAddress = `127.0.0.1:${bPort}`;
    const again = await net.node({
      port,
      bootstrap: [`127.0.0.1:${port}`, withId!, bAddress],
      logger,
    });
    await waitFor("connected to b", () => messages().includes("connected to bootstrap peer"));
    await b.stop(); // its redials fail: the dialer has run at least twice since it started
    await waitFor("b's redial failed", () => messages().includes("bootstrap dial failed"));
    expect(messages()).toContain("p2p node listening");
    const bootstrapLines = entries().filter((e) => e.msg.includes("bootstrap"));
    expect(bootstrapLines.length).toBeGreaterThanOrEqual(2);
    expect(bootstrapLines.filter((e) => e.address !== `/ip4/127.0.0.1/tcp/${bPort}`)).toEqual([]);
    expect(again.peers().map((p) => p.peerId)).not.toContain(again.peerId);
  });

  it("rejects malformed bootstrap entries and listen hosts", async () => {
    await expect(net.node({ bootstrap: ["localhost"] }, false)).rejects.toMatchObject({
      code: "InvalidAddress",
    });
    await expect(net.node({ bootstrap: ["/not/a/multiaddr"] }, false)).rejects.toMatchObject({
      code: "InvalidAddress",
    });
    await expect(net.node({ bootstrap: ["1.2.3.4:70000"] }, false)).rejects.toMatchObject({
      code: "InvalidAddress",
    });
    await expect(net.node({ host: "localhost" }, false)).rejects.toMatchObject({
      code: "InvalidAddress",
    });
  });

  it("a node bootstrapped only to A finds and connects to B", async () => {
    const a = await net.node();
    const b = await net.node({ bootstrap: [hostPort(a)] });
    await waitFor("b connected to a", () => isConnected(b, a));
    const c = await net.node({ bootstrap: [hostPort(a)] });
    await waitFor("c connected to b through discovery", () => isConnected(c, b), 15_000);
    expect(isConnected(c, a)).toBe(true);
  });

  it("finds peers of its own network on the LAN by mDNS", async () => {
    // a prefix of its own, so no other test process on this machine answers
    const protocolPrefix = `/lotchain/mdns-${process.pid}-${Date.now()}`;
    const a = await net.node({ mdns: true, protocolPrefix });
    const b = await net.node({ mdns: true, protocolPrefix });
    const stranger = await net.node({ mdns: true, protocolPrefix: `${protocolPrefix}-other` });
    const strangersPeer = await net.node({ mdns: true, protocolPrefix: `${protocolPrefix}-other` });
    // Once both pairs have found each other, every node has heard the others' mDNS answers.
    await waitFor("a and b found each other", () => isConnected(a, b), 15_000);
    await waitFor(
      "the strangers found each other",
      () => isConnected(stranger, strangersPeer),
      15_000,
    );
    expect(isConnected(a, stranger) || isConnected(a, strangersPeer)).toBe(false);
    expect(isConnected(b, stranger)).toBe(false);
  });

  it("reconnects to a bootstrap peer that restarts, which keeps its identity", async () => {
    const dataDir = await net.dataDir();
    const first = await net.node({ dataDir });
    const port = Number(hostPort(first).split(":")[1]);
    const { logger, messages } = capturingLogger();
    const b = await net.node({ bootstrap: [`127.0.0.1:${port}`], logger });
    await waitFor("b connected", () => isConnected(b, first));

    await first.stop();
    await waitFor("b noticed", () => b.peers().length === 0);
    await waitFor(
      "a few failed redials",
      () => messages().filter((m) => m === "bootstrap dial failed again").length >= 2,
    );
    const second = await net.node({ dataDir, port });
    expect(second.peerId).toBe(first.peerId);
    await waitFor("b reconnected", () => isConnected(b, second), 5_000);
  });

  it("emits peer:connect and peer:disconnect", async () => {
    const a = await net.node();
    const events: string[] = [];
    a.on("peer:connect", (peerId) => events.push(`connect ${peerId}`));
    a.on("peer:disconnect", (peerId) => events.push(`disconnect ${peerId}`));
    const b = await net.node({ bootstrap: [hostPort(a)] });
    await waitFor("connect event", () => events.length === 1);
    await b.stop();
    await waitFor("disconnect event", () => events.length === 2);
    expect(events).toEqual([`connect ${b.peerId}`, `disconnect ${b.peerId}`]);
  });
});

describe("identity", () => {
  const net = new TestNetwork();
  afterEach(() => net.cleanup());

  it("persists in <dataDir>/p2p/identity.key with mode 0600", async () => {
    const dataDir = await net.dataDir();
    const first = await net.node({ dataDir }, false);
    const file = identityPath(dataDir);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const key = await readFile(file);
    const second = await net.node({ dataDir }, false);
    expect(second.peerId).toBe(first.peerId);
    expect(await readFile(file)).toEqual(key);
    const other = await net.node({}, false);
    expect(other.peerId).not.toBe(first.peerId);
  });

  it("refuses a damaged identity instead of replacing it", async () => {
    const dataDir = await net.dataDir();
    await net.node({ dataDir }, false);
    const { writeFile } = await import("node:fs/promises");
    await writeFile(identityPath(dataDir), "garbage");
    await expect(
      P2PNode.create({
        dataDir,
        host: "127.0.0.1",
        port: 0,
        bootstrap: [],
        protocolPrefix: "/lotchain/test",
        logger: (await import("pino")).pino({ level: "silent" }),
      }),
    ).rejects.toMatchObject({ code: "BadIdentity" });
  });
});

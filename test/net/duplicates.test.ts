import { createServer } from "node:net";
import { gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Connection } from "@libp2p/interface";
import { noise } from "@libp2p/noise";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  DuplicateConnectionGuard,
  duplicatesToClose,
} from "../../src/net/duplicate-connections.js";
import { gossipsubOptions } from "../../src/net/gossip.js";
import type { P2PNode } from "../../src/net/p2p.js";
import { bytes, hostPort, retryUntil, TestNetwork, text, waitFor } from "./helpers.js";

const TOPIC = "/lotchain/test/dup/1";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function inbox(node: P2PNode): string[] {
  const seen: string[] = [];
  node.subscribe(
    TOPIC,
    (data) => {
      seen.push(text(data));
      return "accept";
    },
    100,
  );
  return seen;
}

const connectionsTo = (a: P2PNode, b: P2PNode) =>
  a.peers().find((p) => p.peerId === b.peerId)?.addresses.length ?? 0;

describe("duplicate connections", () => {
  const net = new TestNetwork();
  afterEach(() => net.cleanup());

  it("the rule closes the same connections on both ends", () => {
    const c = (direction: "inbound" | "outbound", open: number) => ({
      direction,
      status: "open",
      timeline: { open },
    });
    // A (smaller id) dialled B and B dialled A: both keep the one A dialled
    const atA = [c("outbound", 1), c("inbound", 2)];
    const atB = [c("inbound", 5), c("outbound", 4)];
    expect(duplicatesToClose(atA, "A", "B")).toEqual([atA[1]]);
    expect(duplicatesToClose(atB, "B", "A")).toEqual([atB[1]]);
    // B dialled A twice: only B acts, keeping its oldest
    const twiceAtB = [c("outbound", 9), c("outbound", 3)];
    expect(duplicatesToClose(twiceAtB, "B", "A")).toEqual([twiceAtB[0]]);
    expect(duplicatesToClose([c("inbound", 1), c("inbound", 2)], "A", "B")).toEqual([]);
    expect(duplicatesToClose([c("outbound", 1)], "A", "B")).toEqual([]);
    expect(
      duplicatesToClose([c("outbound", 1), { ...c("inbound", 2), status: "closed" }], "B", "A"),
    ).toEqual([]);
  });

  it("nodes that all bootstrap to each other end with one connection a pair, and gossip", async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const bootstrap = ports.map((port) => `127.0.0.1:${port}`);
    const nodes = await Promise.all(ports.map((port) => net.node({ port, bootstrap }, false)));
    const inboxes = nodes.map(inbox);
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor("full mesh", () => nodes.every((n) => n.topicPeers(TOPIC).length === 2), 10_000);
    await waitFor("one connection a pair", () =>
      nodes.every((a) => nodes.every((b) => a === b || connectionsTo(a, b) === 1)),
    );
    // Gossip flows between every pair once any re-identify has settled: each node publishes
    // (new payloads each round) until every node has heard from both others.
    const heardFromBoth = (seen: string[]) =>
      nodes.every((_, i) => seen === inboxes[i] || seen.some((m) => m.startsWith(`from ${i} `)));
    await retryUntil(
      "everyone heard everyone",
      async (round) => {
        for (const [i, node] of nodes.entries())
          await node.publish(TOPIC, bytes(`from ${i} ${round}`));
      },
      () => inboxes.every(heardFromBoth),
    );
  });

  it("gossip survives the closing of the connection it ran on", async () => {
    const [x, y] = [await net.node(), await net.node()];
    const [small, big] = x.peerId < y.peerId ? [x, y] : [y, x];
    const smallInbox = inbox(small);
    const bigInbox = inbox(big);
    // big dials first: its connection carries gossipsub's streams
    await big.connect(hostPort(small));
    await waitFor(
      "subscribed",
      () => small.topicPeers(TOPIC).length === 1 && big.topicPeers(TOPIC).length === 1,
    );
    await small.publish(TOPIC, bytes("before"));
    await waitFor("before", () => bigInbox.length === 1);
    // small dials too: the rule keeps small's connection and closes the first one
    await small.connect(hostPort(big));
    await waitFor(
      "one connection left",
      () => connectionsTo(small, big) === 1 && connectionsTo(big, small) === 1,
    );
    expect(small.peers()[0]?.direction).toBe("outbound");
    // Without the guard's re-identify gossip between them stops for good; with it, it resumes.
    await retryUntil(
      "after, both ways",
      async (round) => {
        await small.publish(TOPIC, bytes(`after small ${round}`));
        await big.publish(TOPIC, bytes(`after big ${round}`));
      },
      () => bigInbox.length >= 2 && smallInbox.length >= 1,
    );
  });

  it("heals gossipsub when the connection it ran on closes later", async () => {
    // Bare libp2p nodes with lotchain's gossipsub settings, so the test can close one
    // connection by hand once identify has settled on both (P2PNode would have deduplicated
    // them at once). Without the guard's re-identify, gossip between them stops for good.
    const make = () =>
      createLibp2p({
        addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: {
          identify: identify(),
          pubsub: gossipsub(gossipsubOptions({ maxRpcBytes: 1 << 20, appScore: () => 0 })),
        },
      });
    const [a, b] = await Promise.all([make(), make()]);
    const guard = new DuplicateConnectionGuard<Connection>({
      localPeerId: a.peerId.toString(),
      connections: (peerId) => a.getConnections().filter((c) => c.remotePeer.toString() === peerId),
      close: () => {}, // keep both connections: the test closes one itself
      reidentify: (connection) => a.services.identify.identify(connection),
      logger: pino({ level: "silent" }),
    });
    a.addEventListener("connection:close", (e) => guard.onClose(e.detail.remotePeer.toString()));
    try {
      const heard: string[] = [];
      for (const [node, name] of [
        [a, "a"],
        [b, "b"],
      ] as const) {
        node.services.pubsub.subscribe(TOPIC);
        node.services.pubsub.addEventListener("message", (e) =>
          heard.push(`${name}:${text(e.detail.data)}`),
        );
      }
      const plain = (node: typeof a) =>
        multiaddr(
          node
            .getMultiaddrs()[0]!
            .toString()
            .replace(/\/p2p\/.*$/, ""),
        );
      const subscribed = () =>
        a.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(b.peerId)) &&
        b.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(a.peerId));
      await a.dial(plain(b));
      await waitFor("identified and subscribed", subscribed);
      await b.dial(plain(a));
      await waitFor(
        "a second connection",
        () => a.getConnections().length === 2 && b.getConnections().length === 2,
      );
      const oldest = [...a.getConnections()].sort((x, y) => x.timeline.open - y.timeline.open)[0]!;
      await oldest.close();
      await waitFor("one connection left", () => a.getConnections().length === 1);
      await retryUntil(
        "gossip both ways",
        async (round) => {
          await a.services.pubsub.publish(TOPIC, bytes(`1 ${round}`));
          await b.services.pubsub.publish(TOPIC, bytes(`2 ${round}`));
        },
        () => heard.some((h) => h.startsWith("b:1")) && heard.some((h) => h.startsWith("a:2")),
      );
    } finally {
      guard.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

import { afterEach, describe, expect, it } from "vitest";
import type { GossipVerdict, P2PNode } from "../../src/net/p2p.js";
import { bytes, isConnected, retryUntil, TestNetwork, text, waitFor } from "./helpers.js";

const TOPIC = "/lotchain/test/tx/1";

/** Subscribes with a validator that records what it saw and answers `verdict`. */
function record(
  node: P2PNode,
  verdict: (data: string) => GossipVerdict = () => "accept",
  maxBytes = 1024,
) {
  const seen: { data: string; from: string }[] = [];
  node.subscribe(
    TOPIC,
    (data, from) => {
      seen.push({ data: text(data), from });
      return verdict(text(data));
    },
    maxBytes,
  );
  return seen;
}

describe("gossip", () => {
  const net = new TestNetwork();
  afterEach(() => net.cleanup());

  it("a node alone publishes without error", async () => {
    const alone = await net.node();
    record(alone);
    await expect(alone.publish(TOPIC, bytes("hello"))).resolves.toBe(0);
    // unsubscribed topic, and a duplicate payload: still fine
    await expect(alone.publish("/lotchain/test/other/1", bytes("x"))).resolves.toBe(0);
    await expect(alone.publish(TOPIC, bytes("hello"))).resolves.toBe(0);
  });

  it("two nodes gossip both ways, and the receiver learns who sent it", async () => {
    const a = await net.node();
    const b = await net.node({ bootstrap: [a.listenAddresses()[0]!] });
    const seenByA = record(a);
    const seenByB = record(b);
    await waitFor(
      "both subscribed",
      () => a.topicPeers(TOPIC).includes(b.peerId) && b.topicPeers(TOPIC).includes(a.peerId),
    );

    // Each publish went to the peer at once (flood publishing: no waiting for a mesh).
    await expect(a.publish(TOPIC, bytes("from a"))).resolves.toBe(1);
    await expect(b.publish(TOPIC, bytes("from b"))).resolves.toBe(1);
    await waitFor("b got a's message", () => seenByB.length === 1);
    await waitFor("a got b's message", () => seenByA.length === 1);
    expect(seenByB[0]).toEqual({ data: "from a", from: a.peerId });
    expect(seenByA[0]).toEqual({ data: "from b", from: b.peerId });
  });

  it("subscribing before start works, and many messages arrive in a burst", async () => {
    const a = await net.node({}, false);
    const seenByA = record(a);
    await a.start();
    const b = await net.node({ bootstrap: [a.listenAddresses()[0]!] });
    record(b);
    await waitFor("subscribed", () => b.topicPeers(TOPIC).includes(a.peerId));
    for (let i = 0; i < 200; i++) await b.publish(TOPIC, bytes(`m${i}`));
    await waitFor("all 200 delivered", () => seenByA.length === 200);
    expect(new Set(seenByA.map((m) => m.data)).size).toBe(200);
  });

  it("relays accepted messages only, and a reject costs the relaying peer points", async () => {
    // A line A - B - C: A and C do not look for more peers, so C hears A only through B.
    const a = await net.node({ targetPeers: 0 });
    const b = await net.node({ bootstrap: [a.listenAddresses()[0]!] });
    const c = await net.node({ bootstrap: [b.listenAddresses()[0]!], targetPeers: 0 });
    record(a);
    record(b, (data) =>
      data.startsWith("bad") ? "reject" : data.startsWith("meh") ? "ignore" : "accept",
    );
    const seenByC = record(c);
    await waitFor(
      "mesh",
      () => b.topicPeers(TOPIC).length === 2 && c.topicPeers(TOPIC).includes(b.peerId),
    );
    expect(isConnected(a, c)).toBe(false);
    // B forwards to the peers of its mesh, which gossipsub forms at a heartbeat: until a first
    // message has come through, a message may leave before C is in it.
    await retryUntil(
      "a first message relayed from A through B to C",
      (n) => a.publish(TOPIC, bytes(`warm-up ${n}`)),
      () => seenByC.length > 0,
    );
    const relayed = () => seenByC.filter((m) => !m.data.startsWith("warm-up"));

    await a.publish(TOPIC, bytes("bad 1"));
    await a.publish(TOPIC, bytes("meh 1"));
    await a.publish(TOPIC, bytes("good 1"));
    await waitFor("good message relayed to C", () => relayed().length >= 1);
    // B relays in the order it validated, so a relayed "bad 1" or "meh 1" would be there first.
    expect(relayed()[0]).toEqual({ data: "good 1", from: b.peerId });
    await a.publish(TOPIC, bytes("bad 2"));
    await a.publish(TOPIC, bytes("good 2"));
    await waitFor("second good message relayed to C", () => relayed().length >= 2);
    expect(relayed().map((m) => m.data)).toEqual(["good 1", "good 2"]);

    const scoreOfA = b.peers().find((p) => p.peerId === a.peerId)?.score;
    expect(scoreOfA).toBeCloseTo(-20, 0); // two rejects; an ignore costs nothing
    expect(b.peers().find((p) => p.peerId === c.peerId)?.score).toBe(0);
  });

  it("enforces topic size limits on both sides", async () => {
    const a = await net.node();
    const b = await net.node({ bootstrap: [a.listenAddresses()[0]!] });
    record(a, () => "accept", 1000);
    const seenByB = record(b, () => "accept", 100);
    // Both ways: b must know a's subscription too, or a's message may reach b before b's
    // gossipsub has a stream state for a.
    await waitFor(
      "subscribed",
      () => a.topicPeers(TOPIC).includes(b.peerId) && b.topicPeers(TOPIC).includes(a.peerId),
    );

    await expect(a.publish(TOPIC, new Uint8Array(1001))).rejects.toMatchObject({
      code: "MessageTooLarge",
    });
    await a.publish(TOPIC, new Uint8Array(500).fill(65));
    await waitFor(
      "b penalised a",
      () => (b.peers().find((p) => p.peerId === a.peerId)?.score ?? 0) < 0,
    );
    expect(seenByB).toHaveLength(0); // dropped before the validator ran
  });

  it("carries a message of a MiB", async () => {
    const a = await net.node();
    const b = await net.node({ bootstrap: [a.listenAddresses()[0]!] });
    const sizes: number[] = [];
    const mib = 1024 * 1024;
    a.subscribe(TOPIC, () => "accept", mib);
    b.subscribe(
      TOPIC,
      (data) => {
        sizes.push(data.length);
        return "accept";
      },
      mib,
    );
    // both ways, as in the size-limit test: b must have a stream state for a first
    await waitFor(
      "subscribed",
      () => a.topicPeers(TOPIC).includes(b.peerId) && b.topicPeers(TOPIC).includes(a.peerId),
    );
    await a.publish(TOPIC, new Uint8Array(mib).fill(1));
    await waitFor("delivered", () => sizes.length === 1);
    expect(sizes).toEqual([mib]);
  });

  it("rejects subscribing twice to a topic", async () => {
    const a = await net.node();
    record(a);
    expect(() => record(a)).toThrow(expect.objectContaining({ code: "AlreadyRegistered" }));
  });
});

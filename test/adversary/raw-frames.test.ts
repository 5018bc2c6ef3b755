import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { afterEach, describe, expect, it } from "vitest";
import { BanList } from "../../src/net/ban-list.js";
import { buildLibp2p, type Libp2pNode } from "../../src/net/libp2p-node.js";
import { PeerScores } from "../../src/net/peer-scores.js";
import { chainProtocols } from "../../src/net/protocols.js";
import { BlockTreeModel, CHAIN_ID, testGenesis } from "../chain/chain-fixtures.js";
import { ChainTestNet, type ChainTestNode, isPeer, scoreOf } from "../net/chain-harness.js";
import { sleep, waitFor } from "../net/helpers.js";

/**
 * Malformed length-prefixed frames on the request/response streams, sent over raw streams of a
 * real libp2p peer (libp2p's dialProtocol and handle give the bare bytes) to a real lotchain
 * network node in this process (chain on LevelDB, libp2p on 127.0.0.1). A frame is an unsigned
 * varint length and that many bytes; a peer that breaks the framing pays 20 points a frame.
 */
const pos = testGenesis("pos");
const ids = chainProtocols(CHAIN_ID);
const VIOLATION = 20;

/** A bare libp2p node built like lotchain's (same transports and services), judging nobody. */
async function rawPeer(): Promise<Libp2pNode> {
  const node = await buildLibp2p({
    privateKey: await generateKeyPair("Ed25519"),
    listen: multiaddr("/ip4/127.0.0.1/tcp/0"),
    maxConnections: 100,
    protocolPrefix: ids.prefix,
    mdns: false,
    maxGossipRpcBytes: 1 << 20,
    bans: new BanList(),
    scores: new PeerScores(60_000),
    banThreshold: -1_000,
  });
  await node.start();
  return node;
}

const varint = (n: number): number[] => {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return out;
};

/** Sends what it can: the node may reset the stream part way, as it should. */
function sendAll(stream: Stream, ...chunks: Uint8Array[]): void {
  try {
    for (const chunk of chunks) stream.send(chunk);
  } catch {
    // reset by the node
  }
}

/**
 * Continuation bytes (high bit set) a few at a time, never more than the reader's buffer holds,
 * until the stream ends or `ms` pass: a length prefix that never ends.
 */
async function drip(stream: Stream, byte: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (stream.status === "open" && stream.writeStatus === "writable" && Date.now() < until) {
    sendAll(stream, new Uint8Array(16).fill(byte));
    await sleep(20);
  }
}

/** Resolves once the other side ended the stream (closed or reset it). */
const ended = (stream: Stream) =>
  new Promise<void>((resolve) => {
    if (stream.status === "closed" || stream.status === "aborted" || stream.status === "reset")
      resolve();
    else stream.addEventListener("close", () => resolve(), { once: true });
  });

describe("malformed frames on raw streams", () => {
  const net = new ChainTestNet();
  const raws: Libp2pNode[] = [];
  afterEach(async () => {
    await Promise.all(raws.splice(0).map((r) => r.stop()));
    await net.cleanup();
  });

  async function attackerOn(node: ChainTestNode) {
    const raw = await rawPeer();
    raws.push(raw);
    await raw.dial(multiaddr(node.net.listenAddresses()[0]!));
    await waitFor("connected", () => isPeer(node, { peerId: raw.peerId.toString() }));
    const peerId = peerIdFromString(node.net.peerId);
    const score = () => scoreOf(node, raw.peerId.toString()) ?? 0;
    return { raw, peerId, score };
  }

  it("requests: an endless length prefix, a length past the limit, a frame cut short, an empty stream: each refused at once and paid for; stalled frames hold nothing", async () => {
    const model = new BlockTreeModel(pos);
    const node = await net.node(pos, { blocks: model.extend(model.genesisBlock, 5) });
    const { raw, peerId, score } = await attackerOn(node);
    let paid = 0;
    const expectPaid = async (what: string) => {
      paid += VIOLATION;
      // Well within the exchange's timeout (15 s): refused as soon as the bytes show it.
      await waitFor(`${what} paid for`, () => score() <= -paid + 1, 3_000);
    };

    // 1. Continuation bytes without end, dripped (a flood overflows the read buffer, which is
    // refused already): the prefix can never be a length within the limit.
    const endless = await raw.dialProtocol(peerId, ids.blocksByRange);
    void drip(endless, 0xff, 5_000);
    await expectPaid("an endless length prefix");
    await ended(endless);

    // 2. A length of 2^40 bytes, over the request limit.
    const huge = await raw.dialProtocol(peerId, ids.blocksByHash);
    sendAll(huge, Uint8Array.from([...varint(2 ** 40), 1, 2, 3]));
    await expectPaid("a length over the limit");
    await ended(huge);

    // 3. 100 bytes announced, 10 sent, and the stream closed for writing.
    const cut = await raw.dialProtocol(peerId, ids.blocksByRange);
    cut.send(Uint8Array.from([...varint(100), ...new Uint8Array(10)]));
    await cut.close();
    await expectPaid("a frame cut short");

    // 4. A stream closed without a frame.
    const empty = await raw.dialProtocol(peerId, ids.status);
    await empty.close();
    await expectPaid("an empty stream");

    // 5. Frames that never finish, on many streams: libp2p lets 32 streams a protocol a
    // connection be open (it resets the rest), they hold no serving budget, and are not blamed
    // (a slow link looks the same) until the exchange's timeout ends them. The node serves an
    // honest newcomer meanwhile.
    const stalled: Stream[] = [];
    for (let i = 0; i < 40; i++) {
      const s = await raw.dialProtocol(peerId, ids.blocksByRange).catch(() => undefined);
      if (s === undefined) continue;
      sendAll(s, Uint8Array.from([...varint(100), 1, 2, 3]));
      stalled.push(s);
    }
    const honest = await net.node(pos, { bootstrap: [node] });
    await waitFor("the newcomer synced", () => honest.chain.head.height === 5, 10_000);
    expect(stalled.filter((s) => s.status === "open").length).toBeLessThanOrEqual(32);
    for (const s of stalled) s.abort(new Error("done"));
    expect(score()).toBeGreaterThan(-paid - 1);

    // More of the same: banned at -100 (scores decay meanwhile), and cut off.
    const isBanned = () => node.net.banned().some((b) => b.peerId === raw.peerId.toString());
    for (let i = 0; i < 3 && !isBanned(); i++) {
      const more = await raw.dialProtocol(peerId, ids.status).catch(() => undefined);
      if (more) sendAll(more, Uint8Array.from([0xff, 0xff, 0xff, 0xff]));
      await waitFor("paid", () => isBanned() || score() <= -paid - VIOLATION + 1, 3_000);
      paid += VIOLATION;
    }
    expect(isBanned()).toBe(true);
    await waitFor("cut off", () => !isPeer(node, { peerId: raw.peerId.toString() }));
  }, 60_000);

  it("responses: a status answer with an endless length prefix is refused at once and paid for", async () => {
    const node = await net.node(pos, { options: { statusIntervalMs: 300 } });
    const raw = await rawPeer();
    raws.push(raw);
    await raw.handle(ids.status, (stream) => {
      void drip(stream, 0x80, 5_000);
    });
    await raw.dial(multiaddr(node.net.listenAddresses()[0]!));
    // The node asks for the raw peer's status on connect and then every 300 ms; each answer
    // costs the peer 20 points, long before the status exchange's 5 s timeout.
    await waitFor(
      "paid for a misframed answer",
      () => (scoreOf(node, raw.peerId.toString()) ?? 0) <= -VIOLATION + 1,
      3_000,
    );
  }, 30_000);
});
